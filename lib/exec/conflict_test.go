package exec

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store/jetstream"
	"github.com/fold-es/fold/lib/store/jetstream/natstest"
)

// Two engines on two connections to one JetStream store (two machines,
// no shared lock) run commands on the same instances at once, in each
// sync mode. Every append that lost the race is decided again on the
// log as it is, never appended on a stale state: versions are contiguous,
// each acknowledged command's event is in the log once, and the counter
// equals the commands acknowledged. The same command_ids sent by both
// take effect once.
func TestTwoMachinesOneInstance(t *testing.T) {
	srv := natstest.Start(t)
	fx := newFixture(t)
	var retries atomic.Int64
	log := slog.New(countRetries{&retries})
	defer func() {
		t.Logf("batches decided again after a conflict: %d", retries.Load())
		if retries.Load() == 0 {
			t.Error("no conflict happened: the test did not race the two machines")
		}
	}()
	for _, mode := range []SyncMode{SyncBatch, SyncEach, SyncNone} {
		t.Run(string(mode), func(t *testing.T) {
			url := srv.URL + "/" + string(mode)
			ctx := context.Background()
			const n, ids = 150, 3
			acked := make([]map[string]int, 2)
			var wg sync.WaitGroup
			for m := range 2 {
				cfg, err := jetstream.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				st, err := jetstream.Open(ctx, cfg, "test")
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				e := New(Config{Store: st, Routes: fx.pools, Sync: mode, SnapshotEvery: 7, LockTimeout: 5e9, MaxActors: 64, Jobs: 2, Log: log})
				defer e.Close()
				acked[m] = map[string]int{}
				wg.Go(func() {
					var ps []*Pending
					for i := range n {
						env := cmd(fmt.Sprintf("c%d", i%ids), `{"type":"Increment"}`)
						if i%5 == 0 {
							env.CommandID = fmt.Sprintf("shared-%d", i) // both machines send it
						}
						ps = append(ps, e.Submit(ctx, env))
					}
					for _, p := range ps {
						r := p.Wait()
						switch {
						case r.Failure == nil:
							for _, rec := range r.Records {
								acked[m][rec.InstanceID]++
							}
						case r.Failure.Kind == KindDuplicate, r.Failure.Kind == KindLockTimeout:
						default:
							t.Errorf("machine %d: %v (%s)", m, r.Failure, r.Failure.Kind)
						}
					}
				})
			}
			wg.Wait()
			cfg, _ := jetstream.ParseURL(url)
			st, err := jetstream.Open(ctx, cfg, "check")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for i := range ids {
				id := fmt.Sprintf("c%d", i)
				got, err := ReadState(ctx, st, fx.pools["counter"], nil, record.StreamID{Type: "counter", ID: id}, 0)
				if err != nil {
					t.Fatal(err)
				}
				want := acked[0][id] + acked[1][id]
				if got.Version != uint64(want) || string(got.State) != fmt.Sprintf(`{"value":%d}`, want) {
					t.Errorf("%s: version %d, state %s; the machines acknowledged %d events", id, got.Version, got.State, want)
				}
				// n/ids commands per machine, those with a shared id once.
				shared := 0
				for k := range n {
					if k%ids == i && k%5 == 0 {
						shared++
					}
				}
				if max := 2*(n/ids) - shared; want > max {
					t.Errorf("%s: %d events, more than the %d distinct commands", id, want, max)
				}
			}
		})
	}
}

// countRetries counts the engine's "deciding again" messages.
type countRetries struct{ n *atomic.Int64 }

func (c countRetries) Enabled(context.Context, slog.Level) bool { return true }
func (c countRetries) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "another writer appended first") {
		c.n.Add(1)
	}
	return nil
}
func (c countRetries) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c countRetries) WithGroup(string) slog.Handler      { return c }
