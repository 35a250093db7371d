package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// lockBusyFails checks that w cannot take its lock while another holds it.
func lockBusyFails(t *testing.T, w store.Writer, what string) {
	t.Helper()
	begin := time.Now()
	unlock, err := w.Lock(t.Context(), lockBusy)
	if err == nil {
		_ = unlock()
		t.Fatalf("%s: Lock succeeded while another writer held the lock", what)
	}
	if !errors.Is(err, eventlog.ErrLockTimeout) {
		t.Errorf("%s: Lock = %v; want an error wrapping eventlog.ErrLockTimeout", what, err)
	}
	if waited := time.Since(begin); waited > lockBusy+lockWait {
		t.Errorf("%s: Lock with a timeout of %s waited %s", what, lockBusy, waited)
	}
}

// testLock: the writer lock is per stream, not per writer: a second
// writer of the stream times out while the first holds it and gets it
// once released; a writer of another stream is not held up; a wait ends
// with its context.
func testLock(t *testing.T, s store.Store) {
	w1 := create(t, s, account)
	w2 := openWriter(t, s, account)
	w3 := create(t, s, other)

	unlock1, err := w1.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock of a free stream = %v", err)
	}
	lockBusyFails(t, w2, "second writer")
	unlock3, err := w3.Lock(t.Context(), lockBusy)
	if err != nil {
		t.Errorf("Lock of %s while %s is locked = %v; locks are per stream", other, account, err)
	} else if err := unlock3(); err != nil {
		t.Errorf("unlock %s = %v", other, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	begin := time.Now()
	if unlock, err := w2.Lock(ctx, time.Minute); err == nil {
		_ = unlock()
		t.Error("Lock with a done context succeeded while another writer held the lock")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context = %v; want context.Canceled", err)
	}
	if waited := time.Since(begin); waited > lockWait {
		t.Errorf("Lock with a cancelled context waited %s", waited)
	}

	if err := unlock1(); err != nil {
		t.Fatalf("unlock = %v", err)
	}
	unlock2, err := w2.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock by the second writer after the first unlocked = %v", err)
	}
	lockBusyFails(t, w1, "first writer, after unlocking")
	if err := unlock2(); err != nil {
		t.Fatalf("unlock = %v", err)
	}
	unlock1, err = w1.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock again by the first writer = %v", err)
	}
	if err := unlock1(); err != nil {
		t.Fatalf("unlock = %v", err)
	}
}

// testCloseReleasesLock: a writer closed while holding the lock (a
// program that stops without unlocking) does not hold the stream.
func testCloseReleasesLock(t *testing.T, s store.Store) {
	w1 := create(t, s, account)
	w2, _, err := s.OpenWriter(account, false)
	if err != nil {
		t.Fatalf("OpenWriter = %v", err)
	}
	if _, err := w2.Lock(t.Context(), lockWait); err != nil {
		_ = w2.Close()
		t.Fatalf("Lock = %v", err)
	}
	lockBusyFails(t, w1, "while the other writer is open")
	if err := w2.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	unlock, err := w1.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock after the holder closed = %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock = %v", err)
	}
}

// testInterleavedWriters: writers that each take the lock, Check their
// last position, catch up on More and append give one log of whole lines
// numbered without gaps, each writer's in its own order.
func testInterleavedWriters(t *testing.T, s store.Store) {
	const writers, each = 4, 10
	create(t, s, account)
	var wg sync.WaitGroup
	for i := range writers {
		w := openWriter(t, s, account)
		wg.Go(func() {
			if err := appendEach(t.Context(), w, i, each); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, tail := scanAll(t, openLog(t, s, account), eventlog.Tail{}, -1)
	if len(got) != writers*each || tail.Version != writers*each || tail.Torn != 0 {
		t.Fatalf("log has %d entries, tail %+v; want %d", len(got), tail, writers*each)
	}
	next := make([]int, writers)
	for i, e := range got {
		var ev struct {
			Data struct{ W, N int }
		}
		if e.Err != nil || e.Version != uint64(i+1) || record.Unmarshal(e.Line, &ev) != nil {
			t.Fatalf("entry %d = %s", i, describe(got[i:i+1]))
		}
		if ev.Data.W < 0 || ev.Data.W >= writers {
			t.Fatalf("entry %d = %s; no such writer", i, e.Line)
		}
		if ev.Data.N != next[ev.Data.W] {
			t.Fatalf("entry %d = %s; want writer %d's line %d next", i, e.Line, ev.Data.W, next[ev.Data.W])
		}
		next[ev.Data.W]++
	}
}

// appendEach appends n lines as writer i, as fold-exec appends: under the
// lock, after checking that the log still ends where this writer last saw.
func appendEach(ctx context.Context, w store.Writer, i, n int) error {
	var tail eventlog.Tail
	for j := range n {
		unlock, err := w.Lock(ctx, lockWait)
		if err != nil {
			return err
		}
		err = appendLocked(w, &tail, fmt.Sprintf(`{"type":"W","data":{"w":%d,"n":%d},"ts":1}`, i, j))
		if uerr := unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// appendLocked appends line after bringing tail up to the log's end. The
// lock must be held.
func appendLocked(w store.Writer, tail *eventlog.Tail, line string) error {
	c, err := w.Check(tail)
	if err != nil {
		return err
	}
	switch c {
	case eventlog.Same:
	case eventlog.More:
		if *tail, err = w.Scan(*tail, -1, func(eventlog.Entry) error { return nil }); err != nil {
			return err
		}
		if tail.Torn != 0 {
			return fmt.Errorf("torn tail of %d bytes at %d", tail.Torn, tail.Offset)
		}
	default:
		return fmt.Errorf("position %+v is %v under the lock; nobody cuts this log", *tail, c)
	}
	if err := w.Append([]byte(line+"\n"), tail.Offset); err != nil {
		return err
	}
	*tail = eventlog.Tail{Offset: tail.Offset + int64(len(line)) + 1, Hash: record.Hash([]byte(line)), LastStart: tail.Offset, Version: tail.Version + 1}
	return w.Sync()
}

// testSyncWriters: SyncWriters takes any group of the store's writers
// (none, one, several, the same one twice, new streams and old) and what
// they appended reads back; Durable reports each log's end.
func testSyncWriters(t *testing.T, s store.Store) {
	if err := s.SyncWriters(nil); err != nil {
		t.Errorf("SyncWriters(nil) = %v", err)
	}
	ids := []record.StreamID{account, other, {Type: "ledger", ID: "l-1"}}
	var ws []store.Writer
	ends := map[record.StreamID]int64{}
	for _, id := range ids {
		w := create(t, s, id)
		_, ends[id] = write(t, w, lines(line1, line2), false)
		ws = append(ws, w)
	}
	if err := s.SyncWriters(append(ws, ws[0], ws[2], ws[0])); err != nil {
		t.Fatalf("SyncWriters of new streams, with duplicates = %v", err)
	}
	// An existing stream's writer alone.
	w := openWriter(t, s, account)
	_, ends[account] = write(t, w, lines(line3), false)
	if err := s.SyncWriters([]store.Writer{w}); err != nil {
		t.Fatalf("SyncWriters of one writer = %v", err)
	}
	// The group again, with nothing new in some.
	_, ends[other] = write(t, ws[1], lines(line3), false)
	if err := s.SyncWriters([]store.Writer{ws[1], w, ws[1], ws[2]}); err != nil {
		t.Fatalf("SyncWriters of a mixed group = %v", err)
	}
	for _, id := range ids {
		l := openLog(t, s, id)
		got, tail := scanAll(t, l, eventlog.Tail{}, -1)
		want := []string{line1, line2, line3}
		if id == ids[2] {
			want = want[:2]
		}
		wantEntries(t, got, 0, 1, want...)
		if tail.Offset != ends[id] {
			t.Errorf("%s ends at %d; the appends ended at %d", id, tail.Offset, ends[id])
		}
		if end, err := l.Durable(); err != nil || end != ends[id] {
			t.Errorf("Durable of %s = %d, %v; want %d", id, end, err, ends[id])
		}
	}
	if end, err := w.Durable(); err != nil || end != ends[account] {
		t.Errorf("the writer's Durable = %d, %v; want %d", end, err, ends[account])
	}
}
