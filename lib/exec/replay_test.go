package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// TestReplayAcrossBatches: a log of several apply batches folds to the
// same state whether read (ReadState, at every version asked), replayed
// by a writer, or stopped by a corrupt line while a batch is applied.
func TestReplayAcrossBatches(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := record.StreamID{Type: "counter", ID: "long"}
	e := fx.engine(func(c *Config) { c.SnapshotEvery = 0 })
	if r := e.Submit(ctx, cmd(id.ID, `{"type":"Add","n":1}`)).Wait(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	e.Close()
	// Events Added n=1..total: the value after version v is v(v+1)/2, and
	// a batch applied twice or skipped would show.
	const total = 2*replayBatchEvents + 1000
	var b strings.Builder
	for n := 2; n <= total; n++ {
		fmt.Fprintf(&b, `{"type":"Added","data":{"n":%d},"ts":1,"id":"e-%d"}`+"\n", n, n)
	}
	path := fx.root.LogPath(id)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum := func(v int) string { return fmt.Sprintf(`{"value":%d}`, v*(v+1)/2) }
	for _, at := range []int{0, 1, replayBatchEvents, replayBatchEvents + 1, 2*replayBatchEvents + 7, total} {
		st := fx.state(id.ID, uint64(at))
		want := at
		if at == 0 {
			want = total
		}
		if st.Version != uint64(want) || string(st.State) != sum(want) {
			t.Errorf("state at %d = version %d %s; want %d %s", at, st.Version, st.State, want, sum(want))
		}
	}
	// A writer replays the same log (no snapshot) and goes on from it.
	e = fx.engine(nil)
	r := e.Submit(ctx, cmd(id.ID, `{"type":"Add","n":0}`)).Wait()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	r = e.Submit(ctx, cmd(id.ID, fmt.Sprintf(`{"type":"Add","n":%d}`, total+1))).Wait()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	e.Close()
	if st := fx.state(id.ID, 0); st.Version != total+1 || string(st.State) != sum(total+1) {
		t.Errorf("after a writer's replay: version %d %s; want %d %s", st.Version, st.State, total+1, sum(total+1))
	}
	// A corrupt line in the third batch is found while the second is
	// being applied.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(fx.root.SnapshotPath(id))
	lines := strings.SplitAfter(string(data), "\n")
	at := 2*replayBatchEvents + 10
	lines[at] = "garbage\n"
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadState(ctx, fx.root, fx.pools["counter"], nil, id, 0)
	var ce *eventlog.CorruptError
	if f, ok := errors.AsType[*Failure](err); !ok || f.Kind != KindCorrupt || !errors.As(err, &ce) {
		t.Errorf("state of a log corrupt at line %d: %v; want corrupt_stream", at+1, err)
	}
}
