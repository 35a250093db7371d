package store

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// The watch budget is exercised here with small budgets on Linux, where
// the real one is unlimited: the same code decides on macOS and the BSDs.

func addStream(t *testing.T, r Root, id string, line string) {
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

// lockedBuffer collects log output written from the watcher's goroutine.
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

// smallestBudget is the least budget a watch of r fits in at the start.
func smallestBudget(t *testing.T, r Root) int {
	t.Helper()
	for b := 1; b < 100; b++ {
		w, err := r.watch(Select(nil, nil), nil, b, time.Hour)
		if err == nil {
			w.Close()
			return b
		}
		if !errors.Is(err, errWatchBudget) {
			t.Fatalf("budget %d: %v", b, err)
		}
	}
	t.Fatal("no budget under 100 fits")
	return 0
}

func TestWatchBudgetAtStart(t *testing.T) {
	r := Open(t.TempDir())
	for _, id := range []string{"a", "b", "c"} {
		addStream(t, r, id, `{"type":"Incremented"}`)
	}
	b := smallestBudget(t, r)
	_, err := r.watch(Select(nil, nil), nil, b-1, time.Hour)
	if !errors.Is(err, errWatchBudget) || !strings.Contains(err.Error(), "ulimit -n") {
		t.Fatalf("watch over budget = %v; want the budget named, with what to do", err)
	}
	// Three streams cost more than one: each holds its directory and log.
	r1 := Open(t.TempDir())
	addStream(t, r1, "a", `{"type":"Incremented"}`)
	if b1 := smallestBudget(t, r1); b1+4 > b {
		t.Fatalf("budget for 1 stream %d, for 3 %d: streams not counted", b1, b)
	}
}

// TestWatchFallsBackToPolling: a root that grows past the budget makes
// the watcher drop its watches and poll, with a warning, still reporting
// new streams and appends to old ones.
func TestWatchFallsBackToPolling(t *testing.T) {
	r := Open(t.TempDir())
	addStream(t, r, "a", `{"type":"Incremented"}`)
	var logs lockedBuffer
	w, err := r.watch(Select(nil, nil), slog.New(slog.NewTextHandler(&logs, nil)), smallestBudget(t, r)+1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, id := range []string{"b", "c", "d"} {
		addStream(t, r, id, `{"type":"Incremented"}`)
	}
	await := func(what string, ok func(Change) bool) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case c, open := <-w.Changes():
				if !open {
					t.Fatalf("%s: changes closed", what)
				}
				if ok(c) {
					return
				}
			case <-timeout:
				t.Fatalf("%s: no change within 5s (log: %s)", what, logs.String())
			}
		}
	}
	await("new stream d", func(c Change) bool { return c.Stream.ID == "d" })
	if !strings.Contains(logs.String(), "polling") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("no warning about polling: %q", logs.String())
	}
	addStream(t, r, "a", `{"type":"Incremented"}`)
	await("append to a", func(c Change) bool { return c.All || c.Stream.ID == "a" })
	addStream(t, r, "e", `{"type":"Incremented"}`)
	await("new stream e while polling", func(c Change) bool { return c.Stream.ID == "e" })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for range w.Changes() {
	}
}
