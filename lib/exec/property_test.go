package exec

import (
	"context"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/memstore"
)

// TestReplayEqualsIncremental: whatever the commands, snapshot cadence,
// sync mode, cache evictions and restarts, the state carried incrementally
// by the actors equals the state rebuilt from the log alone (no snapshot),
// and versions stay contiguous; on the file backend and on the in-memory
// one, since the engine sees only the store interface.
func TestReplayEqualsIncremental(t *testing.T) {
	backends := []struct {
		name string
		open func(dir string) store.Store
	}{
		{"files", func(dir string) store.Store { return store.Open(dir) }},
		{"memory", func(dir string) store.Store { return memstore.New(dir) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { replayEqualsIncremental(t, b.open) })
	}
}

func replayEqualsIncremental(t *testing.T, open func(dir string) store.Store) {
	fx := newFixture(t)
	ctx := context.Background()
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		st := open(fmt.Sprintf("%s/run-%d", t.TempDir(), n))
		mode := rapid.SampledFrom([]SyncMode{SyncEach, SyncBatch, SyncNone}).Draw(rt, "sync")
		every := rapid.IntRange(0, 5).Draw(rt, "snapshotEvery")
		maxActors := rapid.IntRange(1, 3).Draw(rt, "maxActors")
		newEngine := func() *Engine {
			return New(Config{Store: st, Routes: fx.pools, Sync: mode, SnapshotEvery: every, LockTimeout: 5e9, MaxActors: maxActors, Jobs: 2})
		}
		e := newEngine()
		model := map[string]int{}
		versions := map[string]uint64{}
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for range steps {
			if rapid.IntRange(0, 9).Draw(rt, "restart") == 0 {
				e.Close()
				e = newEngine()
			}
			id := rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(rt, "id")
			c := rapid.SampledFrom([]string{"Increment", "Decrement", "Twice", "Add"}).Draw(rt, "cmd")
			body := fmt.Sprintf(`{"type":%q}`, c)
			k := 0
			if c == "Add" {
				k = rapid.IntRange(-3, 3).Draw(rt, "n")
				body = fmt.Sprintf(`{"type":"Add","n":%d}`, k)
			}
			r := e.Submit(ctx, cmd(id, body)).Wait()
			wantEvents := map[string]int{"Increment": 1, "Twice": 2, "Add": 0, "Decrement": 1}[c]
			if c == "Add" && k != 0 {
				wantEvents = 1
			}
			switch {
			case c == "Decrement" && model[id] == 0:
				if r.Failure == nil || r.Failure.Kind != KindRejected {
					rt.Fatalf("decrement at zero on %s: %+v", id, r)
				}
				continue
			case r.Failure != nil:
				rt.Fatalf("%s on %s: %v", c, id, r.Failure)
			}
			if len(r.Records) != wantEvents {
				rt.Fatalf("%s on %s: %d records", c, id, len(r.Records))
			}
			for _, rec := range r.Records {
				versions[id]++
				if rec.Version != versions[id] {
					rt.Fatalf("%s: version %d, want %d", id, rec.Version, versions[id])
				}
			}
			model[id] += map[string]int{"Increment": 1, "Decrement": -1, "Twice": 2, "Add": k}[c]
		}
		e.Close()
		for id, want := range model {
			sid := record.StreamID{Type: "counter", ID: id}
			if versions[id] == 0 {
				continue
			}
			// A snapshot that matches no line: ignored, the log replayed.
			if err := st.SaveSnapshot(sid, record.Snapshot{State: record.Null, Offset: 1, Hash: "0"}, false); err != nil {
				rt.Fatal(err)
			}
			got, err := ReadState(ctx, st, fx.pools["counter"], nil, sid, 0)
			if err != nil {
				rt.Fatal(err)
			}
			if got.Version != versions[id] || string(got.State) != fmt.Sprintf(`{"value":%d}`, want) {
				rt.Fatalf("%s: replayed %+v, incremental value %d at version %d", id, got, want, versions[id])
			}
		}
	})
}
