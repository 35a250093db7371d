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

// reader is one CatchUp or Follow call's reading machinery: the buffers it
// reuses across streams and the batch it is filling.
type reader struct {
	ctx      context.Context
	s        *Source
	sel      store.Selection
	progress Progress // of the catch-up, when the Source asks for it
	b        batcher
	durable  bool // sync a log before reading what is new in it (Follow)
	skipped  int  // logs found unchanged by a stat alone
	dropped  int  // of them, those only took out of the read
}

// only keeps, in their order, the streams of ids that need reading (quick
// found the others unchanged), and counts the others as skipped.
func (r *reader) only(need map[record.StreamID]bool, ids []record.StreamID, tails []*tail) ([]record.StreamID, []*tail) {
	keep := 0
	for i, id := range ids {
		if need[id] {
			ids[keep], tails[keep] = id, tails[i]
			keep++
		}
	}
	r.dropped = len(ids) - keep
	r.skipped += r.dropped
	return ids[:keep], tails[:keep]
}

func (s *Source) newReader(ctx context.Context, fn func(Batch) error) *reader {
	r := &reader{ctx: ctx, s: s, sel: store.Select(s.Types, s.Streams)}
	r.b = batcher{ctx: ctx, fn: fn, max: s.MaxBatch, maxBytes: s.MaxBatchBytes}
	if r.b.max <= 0 {
		r.b.max = DefaultMaxBatch
	}
	if r.b.maxBytes <= 0 {
		r.b.maxBytes = DefaultMaxBatchBytes
	}
	return r
}

// start discovers the selected streams and gives each a tail from its
// cursor (tails[i] is ids[i]'s). A stream named explicitly must exist; a
// cursor for a selected stream that no longer exists is reported as
// rewritten, before anything is read, so a projection can rebuild before
// doing any work. It is written for 100,000 streams: one allocation for
// the tails, no key strings built for the cursor lookups.
func (r *reader) start(cursors map[string]record.Cursor) ([]record.StreamID, []*tail, error) {
	ids, err := r.discover()
	if err != nil {
		return nil, nil, err
	}
	for _, id := range r.s.Streams {
		if !r.s.Store.HasStream(id) { // if its log exists, discovery listed it
			return nil, nil, fmt.Errorf("%w %s", store.ErrNoStream, record.Quote(id.String()))
		}
	}
	all := make([]tail, len(ids))
	tails := make([]*tail, len(ids))
	var key []byte
	found := 0 // cursors used, of those that name a position
	for i, id := range ids {
		key = append(append(append(key[:0], id.Type...), '/'), id.ID...)
		c := cursors[string(key)]
		if c.Offset > 0 {
			found++
		}
		all[i] = newTail(c)
		tails[i] = &all[i]
	}
	if err := r.checkGone(ids, cursors, found); err != nil {
		return nil, nil, err
	}
	return ids, tails, nil
}

// checkGone reports as rewritten the cursors of selected streams that
// discovery did not find; found is how many cursors it did find, so the
// usual case (none gone) needs no set of the discovered streams.
func (r *reader) checkGone(ids []record.StreamID, cursors map[string]record.Cursor, found int) error {
	want := 0
	for key, c := range cursors {
		t, i, ok := strings.Cut(key, "/")
		if ok && c.Offset > 0 && r.sel.Wants(record.StreamID{Type: t, ID: i}) {
			want++
		}
	}
	if want == found {
		return nil
	}
	discovered := make(map[record.StreamID]bool, len(ids))
	for _, id := range ids {
		discovered[id] = true
	}
	var gone []*RewrittenError
	for key, c := range cursors {
		t, i, ok := strings.Cut(key, "/")
		id := record.StreamID{Type: t, ID: i}
		if ok && c.Offset > 0 && r.sel.Wants(id) && !discovered[id] {
			gone = append(gone, &RewrittenError{Stream: id, Cursor: c, Reason: "the stream no longer exists"})
		}
	}
	for _, e := range gone {
		if err := r.rewritten(e); err != nil {
			return err
		}
	}
	return nil
}

// discover lists the selected streams in discovery order (Store.Streams).
func (r *reader) discover() ([]record.StreamID, error) {
	// Unchecked: read opens every log anyway, and takes a missing one as
	// empty, so a stat per stream would be spent for nothing.
	all, err := r.s.Store.StreamsUnchecked(r.sel.TypeList()...)
	if err != nil {
		return nil, err
	}
	ids := all[:0]
	for _, id := range all {
		if r.sel.Wants(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// readAll reads each stream to its end, in order, reporting progress.
// Streams are probed ahead in parallel (probeAhead), so a catch-up where
// most streams have nothing new costs the system calls of the probes
// spread over the cores, not one after the other.
func (r *reader) readAll(ids []record.StreamID, tails []*tail) error {
	if r.s.Progress != nil {
		r.progress = Progress{Streams: len(ids)}
		r.b.onFlush = r.report
		defer func() { r.b.onFlush = nil }()
	}
	err := r.probeAhead(ids, tails, func(i int, pr probed) error {
		if err := r.use(ids[i], tails[i], pr); err != nil {
			return err
		}
		if r.s.Progress != nil {
			r.progress.Done = i + 1
			r.report()
		}
		return nil
	})
	if err == nil {
		r.s.log().Debug("read every stream", "streams", len(ids)+r.dropped, "unchanged", r.skipped)
	}
	return err
}

// report tells the Source's Progress how far the catch-up has got: after
// each stream, and after each batch (a single long stream takes many).
func (r *reader) report() {
	r.progress.Records = r.b.total
	r.s.Progress(r.progress)
}

// read checks that t still matches id's log and queues the complete lines
// past it, moving t to the end of the last one.
func (r *reader) read(id record.StreamID, t *tail) error {
	return r.use(id, t, probe(r.s.Store, id, t, r.s.Checked))
}

// use acts on what a probe found: a stream to read again from its start,
// nothing new, or lines to scan.
func (r *reader) use(id record.StreamID, t *tail, pr probed) (err error) {
	switch {
	case pr.unchanged:
		r.skipped++
		return nil
	case pr.err != nil:
		return fmt.Errorf("stream %s: %w", record.Quote(id.String()), pr.err)
	case pr.rewritten != "":
		return r.restart(id, t, pr.rewritten)
	case pr.lg == nil:
		return nil
	}
	defer pr.close()
	end := int64(-1)
	if r.durable {
		// A live record is printed only once it is durable: the writer
		// may not have flushed it yet (group commit flushes after the
		// write), so flush it here, and read only as far as was flushed.
		if end, err = pr.lg.Durable(); err != nil {
			return fmt.Errorf("stream %s: %w", record.Quote(id.String()), err)
		}
	}
	reached, err := pr.lg.Scan(t.pos, end, func(e eventlog.Entry) error {
		if e.Err != nil {
			return r.corrupt(e.Err)
		}
		return r.b.add(id, e)
	})
	if err != nil {
		return err
	}
	t.moveTo(reached)
	return nil
}

// restart reports a rewritten stream and, when the consumer accepts it,
// reads the stream again from its start.
func (r *reader) restart(id record.StreamID, t *tail, reason string) error {
	if err := r.rewritten(&RewrittenError{Stream: id, Cursor: t.cursor(), Reason: reason}); err != nil {
		return err
	}
	*t = newTail(record.Cursor{})
	return r.read(id, t)
}

func (r *reader) rewritten(e *RewrittenError) error {
	if r.s.OnRewritten == nil {
		return e
	}
	return r.s.OnRewritten(e)
}

func (r *reader) corrupt(err error) error {
	var ce *eventlog.CorruptError
	if !errors.As(err, &ce) {
		return err
	}
	if r.s.OnCorrupt == nil {
		return nil
	}
	return r.s.OnCorrupt(ce)
}

// batcher fills batches and hands them to the consumer. Event bytes are
// copied into one arena per batch, reused once the batch is delivered.
type batcher struct {
	ctx      context.Context
	fn       func(Batch) error
	max      int
	maxBytes int
	recs     []record.Record
	arena    []byte
	round    int    // records queued since the last Idle batch
	total    int64  // records queued in all
	onFlush  func() // called after each batch delivered, when set
}

func (b *batcher) add(id record.StreamID, e eventlog.Entry) error {
	if b.arena == nil {
		b.arena = make([]byte, 0, b.maxBytes+64<<10)
	}
	start := len(b.arena)
	b.arena = append(b.arena, e.Line...)
	b.recs = append(b.recs, record.Record{
		AggregateType: id.Type, InstanceID: id.ID, Version: e.Version,
		Offset: e.End, Hash: e.Hash, Event: b.arena[start:len(b.arena):len(b.arena)],
	})
	b.round++
	b.total++
	if len(b.recs) >= b.max || len(b.arena) >= b.maxBytes {
		return b.flush(false)
	}
	return nil
}

// flush delivers the queued records; idle marks the end of a read and is
// delivered even when nothing is queued.
func (b *batcher) flush(idle bool) error {
	if len(b.recs) == 0 && !idle {
		return nil
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	err := b.fn(Batch{Records: b.recs, Idle: idle})
	clear(b.recs) // drop the hashes and arena references
	b.recs, b.arena = b.recs[:0], b.arena[:0]
	if idle {
		b.round = 0
	}
	if err == nil && b.onFlush != nil {
		b.onFlush()
	}
	return err
}
