package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// listings are the two ways to list streams, which must agree while every
// listed log exists.
func listings(s store.Store) map[string]func(...string) ([]record.StreamID, error) {
	return map[string]func(...string) ([]record.StreamID, error){
		"Streams":          s.Streams,
		"StreamsUnchecked": s.StreamsUnchecked,
	}
}

// wantStreams checks that both listings of types give want, in order.
func wantStreams(t *testing.T, s store.Store, types []string, want ...record.StreamID) {
	t.Helper()
	for name, list := range listings(s) {
		got, err := list(types...)
		if err != nil {
			t.Errorf("%s(%q) = %v", name, types, err)
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s(%q) = %v; want %v", name, types, got, want)
		}
	}
}

// testNeverWritten: a store nobody wrote has no streams, refuses to open
// one with ErrNoStream, has no snapshot, and reading it creates nothing.
func testNeverWritten(t *testing.T, s store.Store) {
	if s.Location() == "" {
		t.Error("Location is empty")
	}
	if s.Exists() {
		t.Fatal("Exists = true for a store never written")
	}
	wantStreams(t, s, nil)
	wantStreams(t, s, []string{account.Type})
	if s.HasStream(account) {
		t.Errorf("HasStream(%s) = true", account)
	}
	l, err := s.OpenLog(account)
	if !errors.Is(err, store.ErrNoStream) {
		t.Errorf("OpenLog(%s) = %v; want an error wrapping ErrNoStream", account, err)
	}
	if err == nil {
		_ = l.Close()
	}
	w, created, err := s.OpenWriter(account, false)
	if !errors.Is(err, store.ErrNoStream) || created {
		t.Errorf("OpenWriter(%s, no create) = created %v, %v; want an error wrapping ErrNoStream", account, created, err)
	}
	if err == nil {
		_ = w.Close()
	}
	snap, err := s.LoadSnapshot(account)
	if snap != nil || err != nil {
		t.Errorf("LoadSnapshot(%s) = %+v, %v; want nil, nil", account, snap, err)
	}
	if s.Exists() {
		t.Error("reading a store that was never written created it")
	}
}

// testCreate: OpenWriter with create makes a stream once; it is then
// listed, found and opened, and empty.
func testCreate(t *testing.T, s store.Store) {
	w := create(t, s, account)
	if w.Name() == "" {
		t.Error("the writer's Name is empty")
	}
	if !s.Exists() {
		t.Error("Exists = false after a stream was created")
	}
	if s.Location() == "" {
		t.Error("Location is empty")
	}
	if !s.HasStream(account) {
		t.Errorf("HasStream(%s) = false after creating it", account)
	}
	wantStreams(t, s, nil, account)
	wantStreams(t, s, []string{account.Type}, account)
	wantStreams(t, s, []string{"elsewhere"})

	w2, created, err := s.OpenWriter(account, true)
	if err != nil {
		t.Fatalf("second OpenWriter(%s, create) = %v", account, err)
	}
	t.Cleanup(func() { _ = w2.Close() })
	if created {
		t.Errorf("second OpenWriter(%s, create): created = true; want false", account)
	}
	openWriter(t, s, account)
	wantStreams(t, s, nil, account) // listed once however often opened

	// The stream is empty: nothing to scan, and the zero position holds.
	l := openLog(t, s, account)
	got, tail := scanAll(t, l, eventlog.Tail{}, -1)
	if len(got) != 0 || tail != (eventlog.Tail{}) {
		t.Errorf("Scan of a new stream = %s, tail %+v; want nothing, zero tail", describe(got), tail)
	}
	if end, err := l.Durable(); err != nil || end != 0 {
		t.Errorf("Durable of a new stream = %d, %v; want 0", end, err)
	}

	// A sibling of the same type is still missing.
	if s.HasStream(other) {
		t.Errorf("HasStream(%s) = true; only %s was created", other, account)
	}
	if l, err := s.OpenLog(other); !errors.Is(err, store.ErrNoStream) {
		t.Errorf("OpenLog(%s) = %v; want an error wrapping ErrNoStream", other, err)
		if err == nil {
			_ = l.Close()
		}
	}
}

// testDiscoveryOrder: streams are listed in creation order, not sorted,
// with or without a type filter.
func testDiscoveryOrder(t *testing.T, s store.Store) {
	order := []record.StreamID{
		{Type: "zeta", ID: "b"},
		{Type: "alpha", ID: "z"},
		{Type: "zeta", ID: "a"},
		{Type: "mid", ID: "m"},
		{Type: "alpha", ID: "a"},
	}
	for _, id := range order {
		w, created, err := s.OpenWriter(id, true)
		if err != nil || !created {
			t.Fatalf("OpenWriter(%s, create) = created %v, %v", id, created, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close %s = %v", id, err)
		}
	}
	wantStreams(t, s, nil, order...)
	wantStreams(t, s, []string{"zeta"}, order[0], order[2])
	wantStreams(t, s, []string{"alpha", "zeta"}, order[0], order[1], order[2], order[4])
	wantStreams(t, s, []string{"mid", "nothing"}, order[3])
}

// testConcurrentCreate: of many callers creating one stream at once,
// exactly one is told it created it; streams created at once are each
// listed exactly once.
func testConcurrentCreate(t *testing.T, s store.Store) {
	const n = 8
	var mu sync.Mutex
	creators := 0
	var ids []record.StreamID
	var wg sync.WaitGroup
	for i := range n {
		own := record.StreamID{Type: "race", ID: fmt.Sprintf("s-%d", i)}
		ids = append(ids, own)
		for _, id := range []record.StreamID{account, own} {
			wg.Go(func() {
				w, created, err := s.OpenWriter(id, true)
				if err != nil {
					t.Errorf("OpenWriter(%s, create) = %v", id, err)
					return
				}
				defer w.Close()
				if created && id == account {
					mu.Lock()
					creators++
					mu.Unlock()
				}
				if !created && id != account {
					t.Errorf("OpenWriter(%s, create) on a new stream: created = false", id)
				}
			})
		}
	}
	wg.Wait()
	if creators != 1 {
		t.Errorf("%d concurrent OpenWriter(%s, create) said they created it; want exactly 1", n, account)
	}
	for name, list := range listings(s) {
		got, err := list()
		if err != nil {
			t.Fatalf("%s = %v", name, err)
		}
		want := append([]record.StreamID{account}, ids...)
		sortIDs(got)
		sortIDs(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s after concurrent creation = %v; want each of %v once", name, got, want)
		}
	}
}

func sortIDs(ids []record.StreamID) {
	slices.SortFunc(ids, func(a, b record.StreamID) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
}

// testSnapshots: no snapshot loads as nil, nil; a saved one loads back
// with its state compact, and a later save replaces it; snapshots of
// streams are separate.
func testSnapshots(t *testing.T, s store.Store) {
	create(t, s, account)
	create(t, s, other)
	if snap, err := s.LoadSnapshot(account); snap != nil || err != nil {
		t.Fatalf("LoadSnapshot with none saved = %+v, %v; want nil, nil", snap, err)
	}
	v := uint64(7)
	saves := []struct {
		durable bool
		in      record.Snapshot
		state   string // as loaded: compact
	}{
		{true, record.Snapshot{State: record.RawMessage("{\n  \"n\": 3,\n  \"note\": \"é <&>\",\n  \"xs\": [ 1, 2 ]\n}"), Offset: 487, Hash: "477053ed4b97daed", Version: &v},
			`{"n":3,"note":"é <&>","xs":[1,2]}`},
		{false, record.Snapshot{State: record.RawMessage(`{"value":0}`), Offset: 234, Hash: "08854f3260da89f7"},
			`{"value":0}`},
		{false, record.Snapshot{State: record.Null, Offset: 0, Hash: ""}, `null`},
	}
	for i, sv := range saves {
		if err := s.SaveSnapshot(account, sv.in, sv.durable); err != nil {
			t.Fatalf("save %d: SaveSnapshot = %v", i, err)
		}
		got, err := s.LoadSnapshot(account)
		if err != nil || got == nil {
			t.Fatalf("save %d: LoadSnapshot = %+v, %v", i, got, err)
		}
		if string(got.State) != sv.state || got.Offset != sv.in.Offset || got.Hash != sv.in.Hash {
			t.Errorf("save %d: loaded state %s offset %d hash %q; want %s, %d, %q", i, got.State, got.Offset, got.Hash, sv.state, sv.in.Offset, sv.in.Hash)
		}
		switch {
		case sv.in.Version == nil && got.Version != nil:
			t.Errorf("save %d: loaded version %d; none was saved", i, *got.Version)
		case sv.in.Version != nil && (got.Version == nil || *got.Version != *sv.in.Version):
			t.Errorf("save %d: loaded version %v; want %d", i, got.Version, *sv.in.Version)
		}
	}
	if snap, err := s.LoadSnapshot(other); snap != nil || err != nil {
		t.Errorf("LoadSnapshot(%s) after saving only %s's = %+v, %v; want nil, nil", other, account, snap, err)
	}
}
