package watch

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/memstore"
)

// memAppend appends lines to a stream of an in-memory store, creating it.
func memAppend(t *testing.T, s store.Store, id record.StreamID, lines ...string) {
	t.Helper()
	w, _, err := s.OpenWriter(id, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	end, err := w.Durable()
	if err == nil {
		err = w.Append(b, end)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestOnMemoryStore: catch-up, resuming from cursors and following all
// work on a store that is not files, through the interface alone.
func TestOnMemoryStore(t *testing.T) {
	s := memstore.New(t.Name())
	ev := func(i int) string { return fmt.Sprintf(`{"type":"E","data":%d,"ts":1}`, i) }
	a, b := sid("a/1"), sid("b/1")
	memAppend(t, s, a, ev(1), ev(2))
	memAppend(t, s, b, ev(3))

	all, err := catchUp(t, &Source{Store: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append(expect("a/1", 0, 0, []string{ev(1), ev(2)}), expect("b/1", 0, 0, []string{ev(3)})...)
	sameRecords(t, all, want)

	memAppend(t, s, a, ev(4))
	later, err := catchUp(t, &Source{Store: s, Types: []string{"a"}}, map[string]record.Cursor{"a/1": all[1].cursor()})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, later, expect("a/1", all[1].offset, 2, []string{ev(4)}))

	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan error, 1)
	go func() {
		done <- (&Source{Store: s}).Follow(ctx, map[string]record.Cursor{"a/1": later[0].cursor(), "b/1": all[2].cursor()}, c.fn)
	}()
	c.waitFor(t, "the catch-up", func(_ []got, idle int) bool { return idle >= 1 })
	memAppend(t, s, b, ev(5))
	memAppend(t, s, sid("c/new"), ev(6))
	recs := c.waitFor(t, "the append and the new stream", func(recs []got, _ int) bool { return len(recs) >= 2 })
	sameRecords(t, recs, append(expect("b/1", all[2].offset, 1, []string{ev(5)}), expect("c/new", 0, 0, []string{ev(6)})...))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow = %v; want context.Canceled", err)
	}
}
