package exec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/vfs"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// crashRoot is a root on a crashfs file system whose "/" is durable.
func crashRoot(t testing.TB) (store.Root, *crashfs.FS) {
	c := crashfs.New()
	return store.OpenFS("/root", c), c
}

// failNext makes the next n operations of kind on paths ending in suffix
// fail with err, and returns how many it failed so far.
func failNext(c *crashfs.FS, kind crashfs.Kind, suffix string, n int, err error) func() int {
	var mu sync.Mutex
	failed := 0
	c.Fail(func(op crashfs.Op) error {
		mu.Lock()
		defer mu.Unlock()
		if op.Kind == kind && strings.HasSuffix(op.Path, suffix) && failed < n {
			failed++
			return err
		}
		return nil
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return failed
	}
}

// logEvents is the number of event lines in a stream's log on fsys, and
// fails the test if the log is not a clean sequence of events.
func logEvents(t *testing.T, fsys vfs.FS, r store.Root, id string) int {
	t.Helper()
	data, err := vfs.ReadFile(fsys, r.LogPath(record.StreamID{Type: "counter", ID: id}))
	if err != nil {
		t.Fatalf("read log %s: %v", id, err)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, `{"type":"Incremented"`) {
			t.Fatalf("log %s holds a line that is not an event: %q", id, line)
		}
		n++
	}
	return n
}

// TestFailedSyncIsNotTrusted: when the flush of a command's events fails,
// the commands waiting on it fail (io), their events leave the log, the
// stream's cache is dropped, and the next command is decided on what the
// log really holds. A power cut after that keeps every acknowledged event
// and a log that reads cleanly, where retrying the failed flush and
// trusting it would leave a hole (the flush that failed may have dropped
// the data; crashfs models that).
func TestFailedSyncIsNotTrusted(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	for _, mode := range []SyncMode{SyncEach, SyncBatch} {
		for _, fresh := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/new stream %v", mode, fresh), func(t *testing.T) {
				root, c := crashRoot(t)
				e := New(Config{Store: root, Routes: fx.pools, Sync: mode, SnapshotEvery: 2, LockTimeout: 5 * time.Second, MaxActors: 8, Jobs: 2})
				defer e.Close()
				want := 0
				if !fresh {
					for range 3 {
						if r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
							t.Fatal(r.Failure)
						}
					}
					want = 3
				}
				failed := failNext(c, crashfs.Sync, "/a/app.jsonl", 1, syscall.EIO)
				r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
				if r.Failure == nil || r.Failure.Kind != KindIO || len(r.Records) != 0 {
					t.Fatalf("command whose flush failed: %+v; want an io failure", r)
				}
				if failed() != 1 {
					t.Fatalf("%d flushes failed; want 1", failed())
				}
				c.Fail(nil)
				if n := logEvents(t, c, root, "a"); n != want {
					t.Fatalf("the log holds %d events after the failed flush; want %d", n, want)
				}
				r = e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
				if r.Failure != nil {
					t.Fatal(r.Failure)
				}
				want++
				if v := r.Records[0].Version; v != uint64(want) {
					t.Fatalf("the next command was recorded as version %d; want %d (decided on the log, not the cache)", v, want)
				}
				after := store.OpenFS("/root", c.PowerCut(nil))
				if n := logEvents(t, after.FS, after, "a"); n != want {
					t.Fatalf("after a power cut the log holds %d events; want the %d acknowledged", n, want)
				}
				e2 := New(Config{Store: after, Routes: fx.pools, Sync: mode, SnapshotEvery: 2, LockTimeout: 5 * time.Second, MaxActors: 8, Jobs: 2})
				defer e2.Close()
				r = e2.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
				if r.Failure != nil || r.Records[0].Version != uint64(want+1) {
					t.Fatalf("after the power cut: %+v; want version %d", r, want+1)
				}
			})
		}
	}
}

// TestFailedSyncFailsTheRestOfTheBatch: commands queued together on one
// instance are decided in order, each on the state its predecessors left;
// when a flush fails, every later one in the batch fails with it, even one
// that found its command_id already recorded: it was recorded by events
// that are not in the log. The commands are queued while another writer
// holds the lock, so the actor takes them as one batch.
func TestFailedSyncFailsTheRestOfTheBatch(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	for _, mode := range []SyncMode{SyncEach, SyncBatch} {
		t.Run(string(mode), func(t *testing.T) {
			root, c := crashRoot(t)
			e := New(Config{Store: root, Routes: fx.pools, Sync: mode, LockTimeout: 5 * time.Second, MaxActors: 8, Jobs: 2})
			defer e.Close()
			if r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
				t.Fatal(r.Failure)
			}
			other, _, err := root.OpenWriter(record.StreamID{Type: "counter", ID: "a"}, false)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			unlock, err := other.Lock(ctx, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// With --sync each the first command's flush succeeds and the
			// second's fails; with batch the first group's flush fails.
			failAt := map[SyncMode]int{SyncEach: 2, SyncBatch: 1}[mode]
			var mu sync.Mutex
			syncs := 0
			c.Fail(func(op crashfs.Op) error {
				mu.Lock()
				defer mu.Unlock()
				if op.Kind == crashfs.Sync && strings.HasSuffix(op.Path, "/a/app.jsonl") {
					if syncs++; syncs == failAt {
						return syscall.EIO
					}
				}
				return nil
			})
			dup := cmd("a", `{"type":"Increment"}`)
			dup.CommandID = "once"
			envs := []record.Envelope{cmd("a", `{"type":"Increment"}`), dup, dup, cmd("a", `{"type":"Increment"}`)}
			ps := make([]*Pending, len(envs))
			for i, env := range envs {
				ps[i] = e.Submit(ctx, env)
			}
			time.Sleep(50 * time.Millisecond) // all queued behind the lock
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			rs := make([]Result, len(ps))
			var kinds []string
			ok := 0
			for i, p := range ps {
				rs[i] = p.Wait()
				k := "ok"
				if rs[i].Failure != nil {
					k = string(rs[i].Failure.Kind)
				} else {
					ok++
				}
				kinds = append(kinds, k)
			}
			t.Logf("outcomes: %v", kinds)
			if kinds[2] == string(KindDuplicate) && kinds[1] != "ok" {
				t.Fatalf("outcomes %v: a duplicate of a command that failed", kinds)
			}
			if !slices.Contains(kinds, string(KindIO)) {
				t.Fatalf("outcomes %v: no command failed", kinds)
			}
			for i, k := range kinds {
				if k != "ok" && k != string(KindIO) && !(i == 2 && k == string(KindDuplicate)) {
					t.Fatalf("outcomes %v: command %d failed as %s", kinds, i, k)
				}
			}
			c.Fail(nil)
			if n := logEvents(t, c, root, "a"); n != 1+ok {
				t.Fatalf("log holds %d events; want %d (outcomes %v)", n, 1+ok, kinds)
			}
			if kinds[1] != "ok" && kinds[2] != "ok" {
				if r := e.Submit(ctx, dup).Wait(); r.Failure != nil {
					t.Fatalf("the command_id whose events failed, again: %+v; want it applied now", r)
				}
			}
		})
	}
}
