package watch

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// followModes runs a test with notifications and with polling.
var followModes = []struct {
	name string
	poll time.Duration
}{
	{"notify", 0},
	{"poll", 20 * time.Millisecond},
}

// startFollow runs Follow in a goroutine until the test ends.
func startFollow(t *testing.T, s *Source, cursors map[string]record.Cursor) (*collector, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- s.Follow(ctx, cursors, c.fn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow ended with %v; want context.Canceled", err)
		}
	})
	return c, done
}

func hasN(n int) func([]got, int) bool {
	return func(recs []got, idle int) bool { return len(recs) >= n && idle >= 1 }
}

func TestFollow(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestRoot(t)
			first := r.append(sid("a/1"), 2)
			c, _ := startFollow(t, &Source{Store: r.root, Poll: mode.poll}, nil)
			c.waitFor(t, "the catch-up", hasN(2))

			more := r.append(sid("a/1"), 1)
			recs := c.waitFor(t, "an append", hasN(3))
			sameRecords(t, recs, expect("a/1", 0, 0, append(first, more...)))

			// A brand-new type, then a new instance of a known type.
			nb := r.append(sid("b/1"), 1)
			c.waitFor(t, "a new stream type", hasN(4))
			na := r.append(sid("a/2"), 2)
			recs = c.waitFor(t, "a new stream", hasN(6))
			sameRecords(t, recs[3:], append(expect("b/1", 0, 0, nb), expect("a/2", 0, 0, na)...))

			// Half a line is not a record until its newline arrives.
			line := r.event("Late")
			r.add(sid("a/2"), line[:7])
			time.Sleep(3 * max(mode.poll, 20*time.Millisecond))
			if recs, _ := c.snapshot(); len(recs) != 6 {
				t.Fatalf("a torn line was delivered: %+v", recs[6:])
			}
			r.add(sid("a/2"), line[7:]+"\n")
			recs = c.waitFor(t, "the completed line", hasN(7))
			sameRecords(t, recs[6:], expect("a/2", recs[5].offset, 2, []string{line}))
		})
	}
}

func TestFollowRootCreatedLater(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestRoot(t)
			c, _ := startFollow(t, &Source{Store: r.root, Poll: mode.poll}, nil)
			c.waitFor(t, "the empty catch-up", func(_ []got, idle int) bool { return idle == 1 })
			lines := r.append(sid("x/1"), 2)
			recs := c.waitFor(t, "the first stream", hasN(2))
			sameRecords(t, recs, expect("x/1", 0, 0, lines))
		})
	}
}

func TestFollowSelection(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestRoot(t)
			keep := r.append(sid("c/keep"), 1) // a stream named explicitly must exist
			c, _ := startFollow(t, &Source{Store: r.root, Poll: mode.poll, Types: []string{"a"}, Streams: []record.StreamID{sid("c/keep")}}, nil)
			c.waitFor(t, "the catch-up", hasN(1))
			r.append(sid("b/1"), 1)
			r.append(sid("c/other"), 1)
			keep = append(keep, r.append(sid("c/keep"), 1)...)
			a := r.append(sid("a/1"), 1)
			c.waitFor(t, "the selected streams", hasN(3))
			time.Sleep(2 * max(mode.poll, 20*time.Millisecond))
			recs, _ := c.snapshot()
			want := append(expect("c/keep", 0, 0, keep), expect("a/1", 0, 0, a)...)
			if len(recs) == 3 && recs[1].stream == "a/1" {
				want[1], want[2] = want[2], want[1] // one round may read either first
			}
			sameRecords(t, recs, want)
		})
	}
}

func TestFollowResumesFromCursors(t *testing.T) {
	r := newTestRoot(t)
	lines := r.append(sid("a/1"), 3)
	all, _ := catchUp(t, &Source{Store: r.root}, nil)
	c, _ := startFollow(t, &Source{Store: r.root}, map[string]record.Cursor{"a/1": all[2].cursor()})
	c.waitFor(t, "the catch-up", func(_ []got, idle int) bool { return idle == 1 })
	more := r.append(sid("a/1"), 1)
	recs := c.waitFor(t, "the append", hasN(1))
	// The version is counted from the cursor, which has none of its own.
	sameRecords(t, recs, expect("a/1", all[2].offset, 3, more))
	_ = lines
}

func TestFollowRewritten(t *testing.T) {
	for _, mode := range followModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newTestRoot(t)
			r.append(sid("a/1"), 3)
			rewrites := make(chan *RewrittenError, 4)
			src := &Source{Store: r.root, Poll: mode.poll, OnRewritten: func(e *RewrittenError) error {
				rewrites <- e
				return nil
			}}
			c, _ := startFollow(t, src, nil)
			all := c.waitFor(t, "the catch-up", hasN(3))
			// Rewrite the log with other content, shorter than before.
			path := r.root.LogPath(sid("a/1"))
			line := r.event("Replaced")
			if err := os.WriteFile(path+".new", []byte(line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".new", path); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-rewrites:
				if e.Stream != sid("a/1") || e.Cursor != all[2].cursor() {
					t.Fatalf("rewrite reported as %+v", e)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the rewrite was not reported")
			}
			recs := c.waitFor(t, "the stream read again", hasN(4))
			sameRecords(t, recs[3:], expect("a/1", 0, 0, []string{line}))
		})
	}
}

func TestFollowStopsOnFnError(t *testing.T) {
	r := newTestRoot(t)
	r.append(sid("a/1"), 1)
	boom := errors.New("boom")
	err := (&Source{Store: r.root}).Follow(context.Background(), nil, func(Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Follow = %v; want fn's error", err)
	}
}

func TestHangup(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := Hangup(ctx, pw)
	select {
	case <-hup:
		t.Fatal("hangup reported while the reader is open")
	case <-time.After(50 * time.Millisecond):
	}
	pr.Close()
	select {
	case <-hup:
	case <-time.After(5 * time.Second):
		t.Fatal("closing the reader was not noticed")
	}

	f, err := os.CreateTemp(t.TempDir(), "regular")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	select {
	case <-Hangup(ctx, f):
		t.Fatal("hangup reported for a regular file")
	case <-time.After(20 * time.Millisecond):
	}
}
