package watch

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/jetstream"
	"github.com/fold-es/fold/lib/store/jetstream/natstest"
	"github.com/fold-es/fold/lib/store/memstore"
)

// In store order on JetStream: records come in the order they were
// appended across streams, with their own streams' positions; cursors
// skip what a consumer has; a cursor that names another line is
// reported as rewritten; Follow goes on with later appends. A store
// without such an order refuses.
func TestByStore(t *testing.T) {
	srv := natstest.Start(t)
	cfg, _ := jetstream.ParseURL(srv.URL + "/w")
	s, err := jetstream.Open(context.Background(), cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := func(i int) string { return fmt.Sprintf(`{"type":"E","data":%d,"ts":1}`, i) }
	a, b := sid("a/1"), sid("b/1")
	memAppend(t, s, a, ev(1))
	memAppend(t, s, b, ev(2))
	memAppend(t, s, a, ev(3))

	all, err := catchUp(t, &Source{Store: s, Order: ByStore}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := expect("a/1", 0, 0, []string{ev(1), ev(3)})
	sameRecords(t, all, []got{first[0], expect("b/1", 0, 0, []string{ev(2)})[0], first[1]})

	rest, err := catchUp(t, &Source{Store: s, Order: ByStore}, map[string]record.Cursor{"a/1": all[0].cursor()})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, rest, all[1:])

	var rewritten []*RewrittenError
	src := &Source{Store: s, Order: ByStore, OnRewritten: func(e *RewrittenError) error { rewritten = append(rewritten, e); return nil }}
	bad := record.Cursor{Offset: all[0].offset, Hash: "0000000000000000"}
	if _, err := catchUp(t, src, map[string]record.Cursor{"a/1": bad}); err != nil || len(rewritten) != 1 || rewritten[0].Stream != a {
		t.Errorf("a cursor naming another line: %v, rewritten %v", err, rewritten)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan error, 1)
	go func() { done <- (&Source{Store: s, Order: ByStore, Types: []string{"b"}}).Follow(ctx, nil, c.fn) }()
	c.waitFor(t, "the catch-up", func(recs []got, idle int) bool { return idle >= 1 })
	memAppend(t, s, a, ev(4))
	memAppend(t, s, b, ev(5))
	recs := c.waitFor(t, "the append", func(recs []got, _ int) bool { return len(recs) >= 2 })
	sameRecords(t, recs, append(expect("b/1", 0, 0, []string{ev(2)}), expect("b/1", all[1].offset, 1, []string{ev(5)})...))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow = %v; want context.Canceled", err)
	}

	if _, err := catchUp(t, &Source{Store: memstore.New("m"), Order: ByStore}, nil); !errors.Is(err, ErrNoStoreOrder) {
		t.Errorf("ByStore on memstore = %v; want ErrNoStoreOrder", err)
	}
	var _ store.Ordered = s
}
