package projection

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

// Saver keeps a projection's checkpoint as it moves: a
// *consumer.Consumer, which saves at most so often, and now on Save.
type Saver interface {
	Moved(record.Checkpoint) error
	Save() error
}

// checker is a Saver that can vouch for the cursors it saves (a
// *consumer.Consumer): told when a catch-up found every one of them
// matching its log, the next run skips the logs unchanged since.
type checker interface {
	CaughtUp(since time.Time)
}

// maxRebuilds stops a run whose streams keep being rewritten under it.
const maxRebuilds = 5

// BatchError is a batch the handler failed on; it was not applied.
type BatchError struct {
	N     int
	First record.Record
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("batch of %d records from %s version %d not applied: %v",
		e.N, record.Quote(e.First.Stream().String()), e.First.Version, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// Runner is one run of a projection: it applies batches of records, has
// the checkpoint saved, and prints the state, once at the end of a
// catch-up, or with Follow once caught up and again after each batch
// that changed it.
type Runner struct {
	Proj   *Projection
	Saver  Saver // nil: nothing is saved (a dry run, or no store)
	Out    io.Writer
	Follow bool
	Log    *slog.Logger
	// CaughtUp, when set, is called each time a read of the root reaches
	// its end (a progress display clears itself there).
	CaughtUp func()

	work    context.Context // handler calls: not cancelled by a stop, so the batch in hand finishes
	out     *bufio.Writer
	printed bool // the state was printed at least once
	changed bool // the state changed since it was last printed
	applied int64
}

// Applied is the number of records this run applied.
func (r *Runner) Applied() int64 { return r.applied }

func (r *Runner) init(work context.Context) {
	r.work = work
	r.out = bufio.NewWriterSize(r.Out, 64<<10)
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
}

// FromRoot catches up (and with Follow stays) from src, rebuilding when a
// stream no longer matches its cursor, and prints the state. Handler
// calls run under work, so a stop (stop done) finishes the batch in hand.
// The next batch is read while the handler works on this one.
func (r *Runner) FromRoot(stop, work context.Context, src *watch.Source) error {
	r.init(work)
	return r.finish(r.fromRoot(stop, src))
}

func (r *Runner) fromRoot(stop context.Context, src *watch.Source) error {
	pl := newPipeline(r)
	defer pl.close()
	// Only a store whose logs are checked by their stat is vouched for:
	// the cursors then name its logs, not another backend's streams.
	_, vouchable := src.Store.(store.LogStater)
	for rebuilds := 0; ; rebuilds++ {
		since := time.Now() // every cursor this read ends with is checked after it
		fn := func(b watch.Batch) error {
			if err := pl.submit(b.Records); err != nil {
				return err
			}
			if !b.Idle {
				return nil
			}
			if err := pl.wait(); err != nil {
				return err
			}
			if c, ok := r.Saver.(checker); ok && vouchable {
				c.CaughtUp(since)
			}
			if r.CaughtUp != nil {
				r.CaughtUp()
			}
			if r.Follow {
				return r.idle()
			}
			return nil // the end of the catch-up: finish prints
		}
		var err error
		if r.Follow {
			err = src.Follow(stop, r.Proj.Cursors(), fn)
		} else {
			err = src.CatchUp(stop, r.Proj.Cursors(), fn)
		}
		// Whatever stopped the read, the batches already queued are
		// applied (or the first failure among them is the error).
		if werr := pl.wait(); werr != nil {
			return werr
		}
		var rw *watch.RewrittenError
		if !errors.As(err, &rw) || rebuilds == maxRebuilds {
			return err
		}
		r.Log.Warn("rebuilding the projection", "projection", r.Proj.name, "reason", rw.Error())
		r.Proj.Reset()
		if err := r.moved(); err != nil {
			return err
		}
		r.printed = false
	}
}

// FromStdin applies the records feed delivers (watch.Lines over stdin),
// those of types (all when empty), in the batches it makes, and prints
// the state. Records the cursors cover are skipped, so feeding the same
// records again changes nothing.
func (r *Runner) FromStdin(stop, work context.Context, feed watch.Feed, types []string) error {
	r.init(work)
	var recs []record.Record
	return r.finish(feed(stop, nil, func(b watch.Batch) error {
		recs = recs[:0]
		for _, rec := range b.Records {
			if len(types) == 0 || slices.Contains(types, rec.AggregateType) {
				recs = append(recs, rec)
			}
		}
		if err := r.apply(recs, nil); err != nil {
			return err
		}
		if b.Idle {
			return r.idle()
		}
		return nil
	}))
}

// Show prints the projection's state as it stands (the handler's initial
// state when it is still null), without reading anything: for a store
// that does not exist yet.
func (r *Runner) Show(work context.Context) error {
	r.init(work)
	return r.finish(nil)
}

// apply applies recs; array, when not nil, is recs as a JSON array (see
// Projection.apply).
func (r *Runner) apply(recs []record.Record, array []byte) error {
	if len(recs) == 0 {
		return nil
	}
	n, changed, err := r.Proj.apply(r.work, recs, array)
	if err != nil {
		return &BatchError{N: len(recs), First: recs[0], Err: err}
	}
	r.changed = r.changed || changed
	r.applied += int64(n)
	return r.moved()
}

func (r *Runner) moved() error {
	if r.Saver == nil {
		return nil
	}
	return r.Saver.Moved(r.Proj.Checkpoint())
}

func (r *Runner) save() error {
	if r.Saver == nil {
		return nil
	}
	return r.Saver.Save()
}

// idle is called when no more input is waiting: save, and when following,
// print the state if it changed (or was never printed).
func (r *Runner) idle() error {
	if r.Follow && (!r.printed || r.changed) {
		return r.print()
	}
	return r.save()
}

// print shows the state, saving first so what is printed is on disk. A
// state still null is first asked of the handler: its initial state.
func (r *Runner) print() error {
	if record.IsNull(r.Proj.State()) {
		if err := r.Proj.Init(r.work); err != nil {
			return err
		}
		if err := r.moved(); err != nil {
			return err
		}
	}
	if err := r.save(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(r.out, "%s\n", r.Proj.State()); err != nil {
		return outputError(err)
	}
	if err := r.out.Flush(); err != nil {
		return outputError(err)
	}
	r.printed, r.changed = true, false
	return nil
}

func outputError(err error) error {
	return fmt.Errorf("write state: %w", err) // EPIPE: the reader went away
}

// finish ends the run: on a normal end the state is printed (and saved).
// A stop, a closed stdout or a failure returns as it is; what was applied
// is the Saver's to keep.
func (r *Runner) finish(err error) error {
	if err != nil {
		return err
	}
	if !r.Follow || !r.printed || r.changed {
		return r.print()
	}
	return r.save()
}
