package storetest

import (
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// watch starts a Watcher, closed when the test ends; a backend that cannot
// notify skips the test, as a follower would poll.
func watch(t *testing.T, s store.Store, sel store.Selection) store.Watcher {
	t.Helper()
	w, err := s.Watch(sel, quiet())
	if err != nil {
		t.Skipf("Watch = %v; this backend is polled", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// changes reads a Watcher's changes, keeping all it has seen.
type changes struct {
	t    *testing.T
	w    store.Watcher
	seen []store.Change
}

// await reads changes until one may be about id (it names id, or says
// any stream may have changed), failing the test after notifyWait.
func (c *changes) await(id record.StreamID, what string) {
	c.t.Helper()
	timer := time.NewTimer(notifyWait)
	defer timer.Stop()
	for {
		select {
		case ch, ok := <-c.w.Changes():
			if !ok {
				c.t.Fatalf("%s: Changes closed while waiting for %s (saw %v)", what, id, c.seen)
			}
			c.seen = append(c.seen, ch)
			if ch.All || ch.Stream == id {
				return
			}
		case <-timer.C:
			c.t.Fatalf("%s: no change for %s within %s (saw %v)", what, id, notifyWait, c.seen)
		}
	}
}

// drain takes the changes already waiting.
func (c *changes) drain() {
	for {
		select {
		case ch, ok := <-c.w.Changes():
			if !ok {
				return
			}
			c.seen = append(c.seen, ch)
		default:
			return
		}
	}
}

// testWatchNeverWritten: a watch set up before the store exists (a
// follower started first) creates nothing and reports the first stream.
func testWatchNeverWritten(t *testing.T, s store.Store) {
	w := watch(t, s, store.Select(nil, nil))
	if s.Exists() {
		t.Error("Watch created the store")
	}
	c := &changes{t: t, w: w}
	wr := create(t, s, account)
	write(t, wr, lines(line1), true)
	c.await(account, "first stream of a new store")
}

// testWatch: with a selection of a type and of streams by name, appends
// to selected streams and new selected streams are reported, and nothing
// is reported about streams outside it.
func testWatch(t *testing.T, s store.Store) {
	var (
		watched = record.StreamID{Type: "watched", ID: "w-1"}
		picked  = record.StreamID{Type: "mixed", ID: "picked"}
		skipped = record.StreamID{Type: "mixed", ID: "skipped"} // a selected stream's type, not selected
		ignored = record.StreamID{Type: "ignored", ID: "i-1"}   // a type nothing selects
		later   = record.StreamID{Type: "later", ID: "l-1"}     // selected by name, created after the watch began
	)
	ws := map[record.StreamID]store.Writer{}
	for _, id := range []record.StreamID{watched, picked, skipped, ignored} {
		ws[id] = create(t, s, id)
		write(t, ws[id], lines(line1), true)
	}
	sel := store.Select([]string{watched.Type}, []record.StreamID{picked, later})
	c := &changes{t: t, w: watch(t, s, sel)}

	write(t, ws[watched], lines(line2), true)
	c.await(watched, "append to a stream of a selected type")
	write(t, ws[picked], lines(line2), true)
	c.await(picked, "append to a stream selected by name")
	fresh := record.StreamID{Type: watched.Type, ID: "w-2"}
	write(t, create(t, s, fresh), lines(line1), true)
	c.await(fresh, "new stream of a selected type")
	write(t, create(t, s, later), lines(line1), true)
	c.await(later, "new stream selected by name, of a type new to the store")

	// Outside the selection: appends, and new streams of a selected
	// stream's type and of another type.
	unselected := []record.StreamID{skipped, ignored, {Type: picked.Type, ID: "new"}, {Type: ignored.Type, ID: "new"}}
	write(t, ws[skipped], lines(line2), true)
	write(t, ws[ignored], lines(line2), true)
	for _, id := range unselected[2:] {
		write(t, create(t, s, id), lines(line1), true)
	}
	// A change for a stream touched only now comes after any about them.
	marker := record.StreamID{Type: watched.Type, ID: "marker"}
	write(t, create(t, s, marker), lines(line1), true)
	c.await(marker, "new stream after the unselected ones")
	c.drain()
	for _, ch := range c.seen {
		for _, id := range unselected {
			if !ch.All && ch.Stream == id {
				t.Errorf("Change for %s, which the selection %v does not hold", id, sel)
			}
		}
	}
}
