package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/jetstream"
	"github.com/fold-es/fold/lib/store/jetstream/natstest"
	"github.com/fold-es/fold/lib/store/storetest"
)

// open connects a store named name on srv, closed when the test ends.
func open(t *testing.T, srv *natstest.Server, name string) *jetstream.Store {
	t.Helper()
	cfg, err := jetstream.ParseURL(srv.URL + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jetstream.Open(context.Background(), cfg, t.Name())
	if err != nil {
		t.Fatalf("Open %s = %v", srv.URL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := natstest.Start(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, srv, fmt.Sprintf("s%d", n.Add(1)))
	})
}

var (
	acct  = record.StreamID{Type: "account", ID: "a-1"}
	line1 = `{"type":"Opened","data":null,"ts":1}`
	line2 = `{"type":"Deposited","data":{"amount":5},"ts":2}`
)

// appendAt appends lines to w under its lock at end.
func appendAt(t *testing.T, w store.Writer, lines string, end int64) error {
	t.Helper()
	unlock, err := w.Lock(t.Context(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	return w.Append([]byte(lines), end)
}

// scan reads a whole log.
func scan(t *testing.T, l store.Log) (string, eventlog.Tail) {
	t.Helper()
	var b strings.Builder
	tail, err := l.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error {
		if e.Err != nil {
			return e.Err
		}
		b.Write(e.Line)
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatalf("Scan %s = %v", l.Name(), err)
	}
	return b.String(), tail
}

// Two processes (two connections) appending to one stream: the one that
// decided on a stale end gets ErrConflict and appends nothing; once it
// has read again, it appends.
func TestConflict(t *testing.T) {
	srv := natstest.Start(t)
	a, b := open(t, srv, "c"), open(t, srv, "c")
	wa, created, err := a.OpenWriter(acct, true)
	if err != nil || !created {
		t.Fatalf("OpenWriter = %v, created %v", err, created)
	}
	wb, created, err := b.OpenWriter(acct, true)
	if err != nil || created {
		t.Fatalf("second OpenWriter = %v, created %v; want created false", err, created)
	}
	if err := appendAt(t, wa, line1+"\n", 0); err != nil {
		t.Fatal(err)
	}
	// b still thinks the log is empty.
	err = appendAt(t, wb, line2+"\n", 0)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Append on a stale end = %v; want ErrConflict", err)
	}
	got, tail := scan(t, wb)
	if got != line1+"\n" {
		t.Fatalf("log after a conflict = %q; want only the first append", got)
	}
	if err := appendAt(t, wb, line2+"\n", tail.Offset); err != nil {
		t.Fatalf("Append after reading again = %v", err)
	}
	// a's cached end is stale now; its writer finds out the same way.
	if err := appendAt(t, wa, line2+"\n", tail.Offset); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Append by the first writer on its stale end = %v; want ErrConflict", err)
	}
	if got, _ := scan(t, wa); got != line1+"\n"+line2+"\n" {
		t.Errorf("log = %q", got)
	}
}

// Lines past the server's payload limit go as an atomic batch of
// messages, cut after newlines or, for a line longer than a message,
// inside it; they read back with the SPEC's positions, and a position is
// found from a store that has read nothing yet.
func TestLargeAppends(t *testing.T) {
	srv := natstest.Start(t, "max_payload: 4KB")
	s := open(t, srv, "big")
	w, _, err := s.OpenWriter(acct, true)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 200 {
		fmt.Fprintf(&want, `{"type":"N","data":{"i":%d,"pad":"%s"},"ts":1}`+"\n", i, strings.Repeat("x", i%50))
	}
	long := `{"type":"Long","data":"` + strings.Repeat("y", 10000) + `","ts":1}` + "\n"
	want.WriteString(long)
	if err := appendAt(t, w, want.String(), 0); err != nil {
		t.Fatalf("Append of %d bytes = %v", want.Len(), err)
	}
	if err := appendAt(t, w, line1+"\n", int64(want.Len())); err != nil {
		t.Fatal(err)
	}
	want.WriteString(line1 + "\n")

	fresh := open(t, srv, "big") // nothing cached
	l, err := fresh.OpenLog(acct)
	if err != nil {
		t.Fatal(err)
	}
	got, tail := scan(t, l)
	if got != want.String() || tail.Version != 202 || tail.Offset != int64(want.Len()) {
		t.Fatalf("read back %d bytes, tail %+v; want %d bytes, 202 lines", len(got), tail, want.Len())
	}
	var entries []eventlog.Entry
	if _, err := l.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error {
		e.Line = nil
		entries = append(entries, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 7, 150, 199, 200, 201} {
		e := entries[i]
		pos := eventlog.Tail{Offset: e.End, Hash: e.Hash, LastStart: -1}
		other, _ := open(t, srv, "big").OpenLog(acct)
		c, err := other.Check(&pos)
		wantC := eventlog.More
		if i == 201 {
			wantC = eventlog.Same
		}
		if c != wantC || err != nil || pos.LastStart != e.Start {
			t.Errorf("line %d: Check from a fresh store = %v, %v, start %d; want %v, start %d", i+1, c, err, pos.LastStart, wantC, e.Start)
		}
		if err := other.Count(&pos); err != nil || pos.Version != e.Version {
			t.Errorf("line %d: Count = %d, %v", i+1, pos.Version, err)
		}
		var rest strings.Builder
		if _, err := other.Scan(pos, -1, func(e eventlog.Entry) error {
			rest.Write(e.Line)
			rest.WriteByte('\n')
			return nil
		}); err != nil || rest.String() != want.String()[e.End:] {
			t.Errorf("line %d: Scan from it = %d bytes, %v; want %d", i+1, rest.Len(), err, want.Len()-int(e.End))
		}
	}
}

// A cut inside a message keeps its first part; the log reads as a
// prefix of itself, and appends go on from the cut.
func TestTruncateInsideMessage(t *testing.T) {
	srv := natstest.Start(t)
	s := open(t, srv, "cut")
	w, _, err := s.OpenWriter(acct, true)
	if err != nil {
		t.Fatal(err)
	}
	two := line1 + "\n" + line2 + "\n"
	if err := appendAt(t, w, two, 0); err != nil {
		t.Fatal(err)
	}
	if err := appendAt(t, w, line1+"\n", int64(len(two))); err != nil {
		t.Fatal(err)
	}
	unlock, _ := w.Lock(t.Context(), time.Second)
	err = w.Truncate(int64(len(line1)) + 1)
	unlock()
	if err != nil {
		t.Fatalf("Truncate = %v", err)
	}
	l, _ := open(t, srv, "cut").OpenLog(acct)
	got, tail := scan(t, l)
	if got != line1+"\n" || tail.Version != 1 {
		t.Fatalf("after the cut: %q, tail %+v", got, tail)
	}
	if err := appendAt(t, w, line2+"\n", tail.Offset); err != nil {
		t.Fatalf("Append after the cut = %v", err)
	}
	if got, tail := scan(t, l); got != line1+"\n"+line2+"\n" || tail.Version != 2 {
		t.Errorf("after appending again: %q, tail %+v", got, tail)
	}
}

// A server that is down: opening fails with ErrUnavailable, naming the
// URL; an open store's append fails the same way once its timeout
// passes, having appended nothing; after a restart everything
// acknowledged is there and appends go on.
func TestOutage(t *testing.T) {
	srv := natstest.Start(t)
	cfg, _ := jetstream.ParseURL(srv.URL + "/out?timeout=500ms")
	s, err := jetstream.Open(t.Context(), cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, _, err := s.OpenWriter(acct, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := appendAt(t, w, line1+"\n", 0); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := appendAt(t, w, line2+"\n", int64(len(line1))+1); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Append with the server down = %v; want ErrUnavailable", err)
	}
	if _, err := jetstream.Open(t.Context(), cfg, "test"); !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("Open with the server down = %v; want ErrUnavailable naming %s", err, srv.URL)
	}
	srv.Restart()
	got, tail := scan(t, w)
	if got != line1+"\n" {
		t.Fatalf("after the restart: %q", got)
	}
	if err := appendAt(t, w, line2+"\n", tail.Offset); err != nil {
		t.Fatalf("Append after the restart = %v", err)
	}
}
