package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// testRoot is a root written by hand: logs and registry lines.
type testRoot struct {
	t    *testing.T
	root store.Root
	seq  int
}

func newTestRoot(t *testing.T) *testRoot {
	return &testRoot{t: t, root: store.Open(filepath.Join(t.TempDir(), "root"))}
}

// event returns a distinct event line of type typ.
func (r *testRoot) event(typ string) string {
	r.seq++
	return fmt.Sprintf(`{"type":%q,"data":{"n":%d},"ts":1764446400}`, typ, r.seq)
}

// add appends raw bytes to a stream's log, creating and registering it.
func (r *testRoot) add(id record.StreamID, raw string) {
	r.t.Helper()
	path := r.root.LogPath(id)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := r.root.Register(id, false); err != nil {
			r.t.Fatal(err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(raw); err != nil {
		r.t.Fatal(err)
	}
}

// append adds n event lines to a stream and returns them.
func (r *testRoot) append(id record.StreamID, n int) []string {
	var lines []string
	raw := ""
	for range n {
		l := r.event("Happened")
		lines = append(lines, l)
		raw += l + "\n"
	}
	r.add(id, raw)
	return lines
}

func sid(s string) record.StreamID {
	id, err := store.ParseStream(s)
	if err != nil {
		panic(err)
	}
	return id
}

// got is a record as a test keeps it: copied out of the batch.
type got struct {
	stream  string
	version uint64
	offset  int64
	hash    string
	event   string
}

func (g got) cursor() record.Cursor { return record.Cursor{Offset: g.offset, Hash: g.hash} }

// collector gathers batches, safe for a Follow running in a goroutine.
type collector struct {
	mu      sync.Mutex
	recs    []got
	batches []int
	idle    int
}

func (c *collector) fn(b Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range b.Records {
		c.recs = append(c.recs, got{r.Stream().String(), r.Version, r.Offset, r.Hash, string(r.Event)})
	}
	c.batches = append(c.batches, len(b.Records))
	if b.Idle {
		c.idle++
	}
	return nil
}

func (c *collector) snapshot() ([]got, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.recs...), c.idle
}

// waitFor polls until cond holds for what was collected, for up to 5 s.
func (c *collector) waitFor(t *testing.T, what string, cond func(recs []got, idle int) bool) []got {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, idle := c.snapshot()
		if cond(recs, idle) {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; have %d records, %d idle batches: %+v", what, len(recs), idle, recs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// catchUp runs CatchUp and returns what it delivered.
func catchUp(t *testing.T, s *Source, cursors map[string]record.Cursor) ([]got, error) {
	t.Helper()
	var c collector
	err := s.CatchUp(context.Background(), cursors, c.fn)
	recs, _ := c.snapshot()
	return recs, err
}

// expect builds the records a log's lines should give, from version from+1.
func expect(stream string, start int64, from uint64, lines []string) []got {
	var out []got
	off := start
	for i, l := range lines {
		off += int64(len(l)) + 1
		out = append(out, got{stream, from + uint64(i) + 1, off, record.Hash([]byte(l)), l})
	}
	return out
}

func sameRecords(t *testing.T, got, want []got) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\ngot  %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
