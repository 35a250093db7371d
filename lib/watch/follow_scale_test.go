package watch

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// writeEvents appends lines to a stream through the store's writer, as
// fold-exec does (so the file backend notes them in its change journal),
// and returns them.
func (r *testRoot) writeEvents(st store.Store, id record.StreamID, n int) []string {
	r.t.Helper()
	w, _, err := st.OpenWriter(id, true)
	if err != nil {
		r.t.Fatal(err)
	}
	defer w.Close()
	end, err := w.Durable()
	if err != nil {
		r.t.Fatal(err)
	}
	var lines []string
	var b []byte
	for range n {
		l := r.event("Written")
		lines = append(lines, l)
		b = append(append(b, l...), '\n')
	}
	if err := w.Append(b, end); err != nil {
		r.t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		r.t.Fatal(err)
	}
	return lines
}

// TestFollowPastTheWatchBudget: a root with more streams than the watch
// budget is followed all the same: what fold's writers append comes
// through the change journal, what another program appends through the
// scan.
func TestFollowPastTheWatchBudget(t *testing.T) {
	r := newTestRoot(t)
	for i := range 12 {
		r.append(sid(fmt.Sprintf("a/%d", i)), 1)
	}
	root := r.root
	root.WatchBudget = 8 // the root's directories and a few streams
	c, _ := startFollow(t, &Source{Store: root}, nil)
	c.waitFor(t, "the catch-up", hasN(12))
	mine := r.writeEvents(root, sid("a/3"), 2)
	recs := c.waitFor(t, "an append by a writer of the store", hasN(14))
	sameRecords(t, recs[12:], expect("a/3", recs[3].offset, 1, mine))
	fresh := r.writeEvents(root, sid("b/1"), 1)
	recs = c.waitFor(t, "a new stream of a new type", hasN(15))
	sameRecords(t, recs[14:], expect("b/1", 0, 0, fresh))
	foreign := r.append(sid("a/7"), 1)
	recs = c.waitFor(t, "an append by another program", hasN(16))
	sameRecords(t, recs[15:], expect("a/7", recs[7].offset, 1, foreign))
}

// countingStore counts the logs a follower opens, and hands it the
// changes a test sends.
type countingStore struct {
	store.Store
	opens   atomic.Int64
	changes chan store.Change
}

func (s *countingStore) OpenLog(id record.StreamID) (store.Log, error) {
	s.opens.Add(1)
	return s.Store.OpenLog(id)
}

func (s *countingStore) Watch(store.Selection, *slog.Logger) (store.Watcher, error) {
	return &fakeWatcher{s.changes}, nil
}

type fakeWatcher struct{ ch chan store.Change }

func (w *fakeWatcher) Changes() <-chan store.Change { return w.ch }
func (w *fakeWatcher) Close() error                 { return nil }

// TestFollowSkipsWhatItHasRead: a change that gives the size a follower
// has read its stream to costs it nothing; one that gives another size
// makes it read.
func TestFollowSkipsWhatItHasRead(t *testing.T) {
	r := newTestRoot(t)
	r.append(sid("a/1"), 1)
	r.append(sid("a/2"), 1)
	st := &countingStore{Store: r.root, changes: make(chan store.Change, 8)}
	c, _ := startFollow(t, &Source{Store: st}, nil)
	recs := c.waitFor(t, "the catch-up", hasN(2))
	opens := st.opens.Load()
	more := r.append(sid("a/2"), 1)
	st.changes <- store.Change{Stream: sid("a/1"), Size: recs[0].offset}
	st.changes <- store.Change{Stream: sid("a/2"), Size: recs[1].offset + int64(len(more[0])) + 1}
	recs = c.waitFor(t, "the append", hasN(3))
	sameRecords(t, recs[2:], expect("a/2", recs[1].offset, 1, more))
	if n := st.opens.Load() - opens; n != 1 {
		t.Fatalf("the follower opened %d logs; want a/2's alone", n)
	}
}

// syncCounting is a root that counts flushes of the whole store and of
// single logs.
type syncCounting struct {
	store.Root
	all, logs atomic.Int64
}

func (s *syncCounting) SyncAll() error {
	s.all.Add(1)
	return s.Root.SyncAll()
}

func (s *syncCounting) OpenLog(id record.StreamID) (store.Log, error) {
	lg, err := s.Root.OpenLog(id)
	if err != nil {
		return nil, err
	}
	return &durableCounting{Log: lg, n: &s.logs}, nil
}

type durableCounting struct {
	store.Log
	n *atomic.Int64
}

func (l *durableCounting) Durable() (int64, error) {
	l.n.Add(1)
	return l.Log.Durable()
}

// TestFollowFlushesOncePerBatch: a catch-up over many streams makes what
// it delivers durable with a flush of the store per batch, not one per
// log; an append to one stream flushes that log alone.
func TestFollowFlushesOncePerBatch(t *testing.T) {
	r := newTestRoot(t)
	for i := range 40 {
		r.append(sid(fmt.Sprintf("a/%d", i)), 1)
	}
	st := &syncCounting{Root: r.root}
	if err := st.Root.SyncAll(); errors.Is(err, errors.ErrUnsupported) {
		t.Skip("this system cannot flush a whole file system at once")
	}
	c, _ := startFollow(t, &Source{Store: st, MaxBatch: 16}, nil)
	c.waitFor(t, "the catch-up", hasN(40))
	if all, logs := st.all.Load(), st.logs.Load(); logs != 0 || all < 3 {
		t.Fatalf("the catch-up flushed %d logs and the store %d times; want 3 batches, each after a flush of the store", logs, all)
	}
	all := st.all.Load()
	r.writeEvents(st, sid("a/5"), 1)
	c.waitFor(t, "the append", hasN(41))
	if st.all.Load() != all || st.logs.Load() != 1 {
		t.Fatalf("an append to one stream flushed the store %d times and %d logs; want its log alone", st.all.Load()-all, st.logs.Load())
	}
}
