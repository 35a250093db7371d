package consumer

import (
	"bufio"
	"errors"
	"log/slog"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// ErrLimit ends a delivery that reached its limit of records: a clean end.
var ErrLimit = errors.New("limit reached")

// Records delivers event records, one JSON line each, to a downstream:
// fold-watch's loop. Each batch is written, flushed and confirmed, and
// only then does the consumer (if any) move past it.
type Records struct {
	out      Downstream
	w        *bufio.Writer
	c        *Consumer // nil: a plain reader, nothing kept
	log      *slog.Logger
	limit    int64
	keep     func(record.Record) bool
	caughtUp func()
	cursors  map[string]record.Cursor
	buf      []byte
	n        int64
	finished bool // the limit was reached
}

// RecordsConfig is how Records delivers.
type RecordsConfig struct {
	Out      Downstream
	Consumer *Consumer // nil for a plain reader
	Limit    int64     // stop after this many records; 0: no limit
	// Keep, when set, says which records are delivered; the others are
	// passed over (and a consumer moves past them all the same).
	Keep func(record.Record) bool
	Log  *slog.Logger
	// CaughtUp, when set, is called once, when the first read reaches the
	// end of the logs (a progress line erases itself there).
	CaughtUp func()
}

// NewRecords returns a delivery to cfg.Out, starting from the consumer's
// cursors.
func NewRecords(cfg RecordsConfig) *Records {
	r := &Records{out: cfg.Out, w: bufio.NewWriterSize(cfg.Out, 64<<10), c: cfg.Consumer, limit: cfg.Limit, keep: cfg.Keep, log: cfg.Log,
		caughtUp: cfg.CaughtUp, cursors: map[string]record.Cursor{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.c != nil {
		r.cursors = r.c.Start().Cursors
	}
	return r
}

// Cursors are where reading starts (watch.Source's cursors).
func (r *Records) Cursors() map[string]record.Cursor { return r.cursors }

// Delivered is the number of records delivered so far.
func (r *Records) Delivered() int64 { return r.n }

// Batch delivers a batch: the function a watch.Feed calls. It returns
// ErrLimit once the limit is reached, after delivering up to it.
func (r *Records) Batch(b watch.Batch) error {
	if b.Idle && r.caughtUp != nil {
		r.caughtUp()
		r.caughtUp = nil
	}
	took := 0
	for _, rec := range b.Records {
		if r.limit > 0 && r.n == r.limit {
			r.finished = true
			break
		}
		took++
		if r.keep != nil && !r.keep(rec) {
			continue
		}
		r.buf = append(record.AppendRecord(r.buf[:0], rec), '\n')
		if _, err := r.w.Write(r.buf); err != nil {
			return err
		}
		r.n++
	}
	// The limit reached ends the run now, not at the next record: with
	// --follow that may never come.
	r.finished = r.finished || (r.limit > 0 && r.n == r.limit)
	if err := r.w.Flush(); err != nil {
		return err
	}
	if err := r.out.Confirm(); err != nil {
		return err
	}
	if r.c != nil && took > 0 {
		for _, rec := range b.Records[:took] {
			r.cursors[rec.Stream().String()] = record.Cursor{Offset: rec.Offset, Hash: rec.Hash}
		}
		if err := r.c.Moved(record.Checkpoint{State: record.Null, Cursors: r.cursors}); err != nil {
			return err
		}
	}
	if r.finished {
		return ErrLimit
	}
	if b.Idle && r.c != nil {
		return r.c.Save()
	}
	return nil
}

// Rewritten handles a stream that no longer matches its cursor: it is
// delivered again from its first record (watch.Source's OnRewritten).
func (r *Records) Rewritten(e *watch.RewrittenError) error {
	r.log.Warn("delivering the stream again from its start", "err", e.Error())
	delete(r.cursors, e.Stream.String())
	if r.c != nil {
		return r.c.Moved(record.Checkpoint{State: record.Null, Cursors: r.cursors})
	}
	return nil
}
