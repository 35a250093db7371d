package store

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// The watcher's tests run with small budgets and a short scan period: the
// same code decides with the real ones.

const testScan = 50 * time.Millisecond

// foreignAppend writes a line to a stream's log as another program would
// (eventfold-es, cp): no journal line.
func foreignAppend(t *testing.T, r Root, id string, line string) {
	t.Helper()
	sid := record.StreamID{Type: "counter", ID: id}
	if err := os.MkdirAll(r.StreamDir(sid), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(r.LogPath(sid), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects log output written from the watcher's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// watching is a watcher under test and what it logged.
type watching struct {
	t    *testing.T
	w    Watcher
	logs *lockedBuffer
}

func startWatch(t *testing.T, r Root, o watchOpts) *watching {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.minScan == 0 {
		o.minScan = testScan
	}
	w, err := r.watch(Select(nil, nil), log, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		for range w.Changes() {
		}
	})
	return &watching{t: t, w: w, logs: logs}
}

// await reads changes until ok accepts one, failing after 5s.
func (w *watching) await(what string, ok func(Change) bool) Change {
	w.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c, open := <-w.w.Changes():
			if !open {
				w.t.Fatalf("%s: changes closed", what)
			}
			if ok(c) {
				return c
			}
		case <-timeout:
			w.t.Fatalf("%s: no change within 5s (log: %s)", what, w.logs.String())
		}
	}
}

func about(id string) func(Change) bool {
	return func(c Change) bool { return c.Stream.ID == id }
}

func aboutAt(id string, size int64) func(Change) bool {
	return func(c Change) bool { return c.Stream.ID == id && c.Size == size }
}

func logSize(t *testing.T, r Root, id string) int64 {
	t.Helper()
	st, err := os.Stat(r.LogPath(record.StreamID{Type: "counter", ID: id}))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestWatchStartsWithoutStreamWatches: whatever the root holds, Watch
// watches a few directories; the streams' own watches come after
// CaughtUp, and from then on appends by another program are reported.
func TestWatchStartsWithoutStreamWatches(t *testing.T) {
	r := Open(t.TempDir())
	for i := range 50 {
		foreignAppend(t, r, fmt.Sprintf("s%d", i), `{"type":"Incremented"}`)
	}
	w := startWatch(t, r, watchOpts{budget: 1000})
	d := w.w.(*dirWatcher)
	if n := len(d.watched); n != 3 { // the root, streams/ and counter/: no meta/ yet
		t.Fatalf("Watch set up %d watches; want the root's 3 directories", n)
	}
	d.CaughtUp()
	// The scan after the streams' watches reports each with its size.
	w.await("the scan after the watches", aboutAt("s49", logSize(t, r, "s49")))
	foreignAppend(t, r, "s7", `{"type":"Incremented"}`)
	w.await("a foreign append to a watched stream", about("s7"))
	if strings.Count(w.logs.String(), "scanned the logs") > 1 {
		t.Errorf("a watcher watching every stream scans periodically: %s", w.logs.String())
	}
}

// TestWatchPastTheBudget: a root with more streams than the budget is
// followed through the journal, at once, and the scan, which finds what
// another program appended.
func TestWatchPastTheBudget(t *testing.T) {
	r := Open(t.TempDir())
	for i := range 10 {
		appendEvents(t, r, record.StreamID{Type: "counter", ID: fmt.Sprintf("s%d", i)}, 1, true)
	}
	w := startWatch(t, r, watchOpts{budget: 8, minScan: time.Hour}) // no periodic scan during the test
	w.w.(Settler).CaughtUp()
	w.await("the first scan", aboutAt("s9", logSize(t, r, "s9")))
	size := appendEvents(t, r, record.StreamID{Type: "counter", ID: "s3"}, 2, true)
	w.await("an append by a fold writer, from the journal", aboutAt("s3", size))
	size = appendEvents(t, r, record.StreamID{Type: "counter", ID: "new"}, 1, false) // --sync none
	w.await("a new stream, from the journal", aboutAt("new", size))
	if !strings.Contains(w.logs.String(), "scanned the logs") {
		t.Errorf("no scan logged: %s", w.logs.String())
	}
}

// TestWatchScansForeignAppends: with more streams than the budget, what
// another program appends is found by the periodic scan.
func TestWatchScansForeignAppends(t *testing.T) {
	r := Open(t.TempDir())
	for i := range 10 {
		foreignAppend(t, r, fmt.Sprintf("s%d", i), `{"type":"Incremented"}`)
	}
	w := startWatch(t, r, watchOpts{budget: 8})
	w.w.(Settler).CaughtUp()
	w.await("the first scan", about("s9"))
	foreignAppend(t, r, "s2", `{"type":"Incremented"}`)
	w.await("a foreign append, scanned", aboutAt("s2", logSize(t, r, "s2")))
	foreignAppend(t, r, "other", `{"type":"Incremented"}`)
	w.await("a foreign new stream", about("other"))
}

// TestWatchGrowsPastTheBudget: a root that outgrows the budget makes the
// watcher give up the streams' watches for the scan, with a note in the
// log, and appends are still found.
func TestWatchGrowsPastTheBudget(t *testing.T) {
	r := Open(t.TempDir())
	foreignAppend(t, r, "a", `{"type":"Incremented"}`)
	w := startWatch(t, r, watchOpts{budget: 8})
	w.w.(Settler).CaughtUp()
	w.await("the scan after the watches", about("a"))
	for _, id := range []string{"b", "c", "d", "e", "f"} {
		foreignAppend(t, r, id, `{"type":"Incremented"}`)
	}
	w.await("the last new stream", about("f"))
	foreignAppend(t, r, "a", `{"type":"Incremented"}`)
	w.await("a foreign append after the watches were given up", aboutAt("a", logSize(t, r, "a")))
	if !strings.Contains(w.logs.String(), "scanning the logs instead") {
		t.Errorf("no note of the stream watches given up: %s", w.logs.String())
	}
}

// TestWatchTooSmallABudgetPolls: a budget too small for even the root's
// directories polls, with a warning, and reports appends all the same.
func TestWatchTooSmallABudgetPolls(t *testing.T) {
	r := Open(t.TempDir())
	foreignAppend(t, r, "a", `{"type":"Incremented"}`)
	w := startWatch(t, r, watchOpts{budget: 2})
	if !strings.Contains(w.logs.String(), "level=WARN") || !strings.Contains(w.logs.String(), "polling") {
		t.Fatalf("no warning about polling: %s", w.logs.String())
	}
	size := appendEvents(t, r, record.StreamID{Type: "counter", ID: "a"}, 1, true)
	w.await("an append, from the journal", aboutAt("a", size))
	w.w.(Settler).CaughtUp()
	foreignAppend(t, r, "b", `{"type":"Incremented"}`)
	w.await("a foreign new stream, from the directory", about("b"))
}

// TestPollOnCrashFS: Poll works on any file system; an append whose
// journal line was lost (the write failed) is found by the scan.
func TestPollOnCrashFS(t *testing.T) {
	c := crashfs.New()
	r := OpenFS("/srv/root", c)
	a := record.StreamID{Type: "counter", ID: "a"}
	appendEvents(t, r, a, 1, true)
	logs := &lockedBuffer{}
	pw, err := r.watch(Select(nil, nil), slog.New(slog.NewTextHandler(logs, nil)), watchOpts{poll: 10 * time.Millisecond, minScan: testScan})
	if err != nil {
		t.Fatal(err)
	}
	w := &watching{t: t, w: pw, logs: logs}
	t.Cleanup(func() { pw.Close() })
	size := appendEvents(t, r, a, 1, true)
	w.await("an append, from the journal", aboutAt("a", size))
	pw.(Settler).CaughtUp()
	w.await("the first scan", aboutAt("a", size))
	c.Fail(func(op crashfs.Op) error {
		if strings.HasPrefix(filepath.Base(op.Path), journalPrefix) {
			return syscall.EIO
		}
		return nil
	})
	size = appendEvents(t, r, a, 1, true)
	w.await("an append whose journal line was lost, scanned", aboutAt("a", size))
	b := record.StreamID{Type: "counter", ID: "b"}
	size = appendEvents(t, r, b, 1, true)
	w.await("a new stream whose journal line was lost, found in its directory", about("b"))
	if _, err := c.Stat(journalPath("/srv/root/meta", 1)); err != nil {
		t.Fatal(err)
	}
}

// TestWatchNeedsTheOSFileSystem: Watch says so on another file system, so
// a follower polls.
func TestWatchNeedsTheOSFileSystem(t *testing.T) {
	r := OpenFS("/srv/root", crashfs.New())
	if _, err := r.Watch(Select(nil, nil), nil); err == nil {
		t.Fatal("Watch on crashfs did not fail")
	}
}
