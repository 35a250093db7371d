package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Order is how a read orders records of different streams.
type Order int

const (
	// ByStream reads stream after stream, in discovery order: every
	// store can.
	ByStream Order = iota
	// ByStore delivers records in the order they were appended across
	// all streams: a store.Ordered (JetStream) can, the file backend
	// cannot.
	ByStore
)

// ErrNoStoreOrder is a ByStore read of a store that keeps no order across
// its streams.
var ErrNoStoreOrder = errors.New("the store keeps no order across streams (the file backend; NATS JetStream does)")

// readOrdered is CatchUp (follow false) and Follow in store order. A
// stream with a cursor is skipped up to it: the line that ends there must
// be the one the cursor names, else the stream is reported rewritten and
// read on from where the order has got to, since in store order its
// earlier lines have passed.
func (s *Source) readOrdered(ctx context.Context, cursors map[string]record.Cursor, follow bool, fn func(Batch) error) error {
	o, ok := s.Store.(store.Ordered)
	if !ok {
		return ErrNoStoreOrder
	}
	r := s.newReader(ctx, fn)
	for _, id := range s.Streams {
		if !s.Store.HasStream(id) {
			return fmt.Errorf("%w %s", store.ErrNoStream, record.Quote(id.String()))
		}
	}
	skip := map[record.StreamID]record.Cursor{}
	for key, c := range cursors {
		t, i, ok := strings.Cut(key, "/")
		if id := (record.StreamID{Type: t, ID: i}); ok && c.Offset > 0 && r.sel.Wants(id) {
			skip[id] = c
		}
	}
	first := true
	return o.ReadOrdered(ctx, r.sel, follow, func(id record.StreamID, e eventlog.Entry) error {
		if c, ok := skip[id]; ok {
			switch {
			case e.End < c.Offset:
				return nil
			case e.End == c.Offset && e.Hash == c.Hash:
				delete(skip, id)
				return nil
			}
			delete(skip, id)
			reason := "the line before the cursor is not the one the cursor names"
			if err := r.rewritten(&RewrittenError{Stream: id, Cursor: c, Reason: reason}); err != nil {
				return err
			}
		}
		if e.Err != nil {
			return r.corrupt(e.Err)
		}
		return r.b.add(id, e)
	}, func() error {
		if !first && r.b.round == 0 {
			return nil
		}
		first = false
		return r.b.flush(true)
	})
}
