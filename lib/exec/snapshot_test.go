package exec

import (
	"context"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store/memstore"
)

// TestSnapshotMustMatchItsLog: a snapshot is used only when the line
// ending at its offset has its hash and the log holds as many lines there
// as its version says; any other is ignored and the log replayed, whatever
// the backend (the in-memory one hands snapshots over unparsed).
func TestSnapshotMustMatchItsLog(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	st := memstore.New(t.TempDir())
	e := New(Config{Store: st, Routes: fx.pools, Sync: SyncBatch, SnapshotEvery: 0, LockTimeout: 5e9, Jobs: 1})
	var last record.Record
	for range 3 {
		r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
		if r.Failure != nil {
			t.Fatal(r.Failure)
		}
		last = r.Records[0]
	}
	e.Close()
	id := record.StreamID{Type: "counter", ID: "a"}
	v := func(n uint64) *uint64 { return &n }
	tests := []struct {
		name string
		snap record.Snapshot
		want string // the state read
	}{
		{"offset 0, any hash", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: 0, Hash: "x", Version: v(99)}, `{"value":3}`},
		{"offset 0, empty log's", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: 0, Hash: ""}, `{"value":3}`},
		{"negative offset", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: -5, Hash: last.Hash}, `{"value":3}`},
		{"wrong hash", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: last.Offset, Hash: "0000000000000000", Version: v(3)}, `{"value":3}`},
		{"wrong version", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: last.Offset, Hash: last.Hash, Version: v(2)}, `{"value":3}`},
		{"matches", record.Snapshot{State: record.RawMessage(`{"value":99}`), Offset: last.Offset, Hash: last.Hash, Version: v(3)}, `{"value":99}`},
		{"matches, no version", record.Snapshot{State: record.RawMessage(`{"value":98}`), Offset: last.Offset, Hash: last.Hash}, `{"value":98}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := st.SaveSnapshot(id, tt.snap, false); err != nil {
				t.Fatal(err)
			}
			got, err := ReadState(ctx, st, fx.pools["counter"], nil, id, 0)
			if err != nil || got.Version != 3 || string(got.State) != tt.want {
				t.Errorf("state = %+v, %v; want version 3, %s", got, err, tt.want)
			}
		})
	}
}
