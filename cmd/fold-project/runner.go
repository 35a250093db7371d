package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/projection"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// saveEvery bounds how often the checkpoint is saved while records keep
// coming (a save is an fsync); it is also saved whenever the input is
// idle and when the run ends, so a crash costs at most this much replay.
const saveEvery = 2 * time.Second

// maxRebuilds stops a run whose streams keep being rewritten under it.
const maxRebuilds = 5

// runner is one run of a projection: it applies batches, saves the
// checkpoint and prints the state.
type runner struct {
	name     string
	cm       app.Common
	work     context.Context // handler calls: not cancelled by a stop, so the batch in hand finishes
	proj     *projection.Projection
	cp       *checkpoint.File // nil: nothing is saved (no root)
	out      *bufio.Writer
	follow   bool
	printed  bool // the state was printed at least once
	changed  bool // the state changed since it was last printed
	saved    time.Time
	applied  int       // batches applied by this run
	progress *progress // nil unless stderr is a terminal
}

// batchError is a batch the handler failed on; it was not applied.
type batchError struct {
	n     int
	first record.Record
	err   error
}

func (e *batchError) Error() string {
	return fmt.Sprintf("batch of %d records from %s version %d not applied: %v",
		e.n, record.Quote(e.first.Stream().String()), e.first.Version, e.err)
}

func (e *batchError) Unwrap() error { return e.err }

// errClosed stops a run whose stdout reader went away.
var errClosed = errors.New("stdout closed")

func (r *runner) apply(recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	_, changed, err := r.proj.Apply(r.work, recs)
	if err != nil {
		return &batchError{n: len(recs), first: recs[0], err: err}
	}
	r.changed = r.changed || changed
	r.applied++
	if time.Since(r.saved) >= saveEvery {
		return r.save()
	}
	return nil
}

// idle is called when no more input is waiting: save, and when following,
// print the state if it changed (or was never printed).
func (r *runner) idle() error {
	if r.follow && (!r.printed || r.changed) {
		return r.print()
	}
	return r.save()
}

// print shows the state, saving first so what is printed is on disk. A
// state still null is first asked of the handler: its initial state.
func (r *runner) print() error {
	if err := r.proj.Init(r.work); err != nil {
		return err
	}
	if err := r.save(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(r.out, "%s\n", r.proj.State()); err != nil {
		return r.outputError(err)
	}
	if err := r.out.Flush(); err != nil {
		return r.outputError(err)
	}
	r.printed, r.changed = true, false
	return nil
}

func (r *runner) save() error {
	if r.cp == nil || !r.proj.Dirty() {
		return nil
	}
	if err := r.cp.Save(r.proj.Checkpoint()); err != nil {
		return app.Fatal(err)
	}
	r.proj.Saved()
	r.saved = time.Now()
	return nil
}

func (r *runner) outputError(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		return errClosed
	}
	return app.Fatal(fmt.Errorf("write state: %w", err))
}

// fromRoot catches up (and follows) from the root, rebuilding when a
// stream no longer matches its cursor.
func (r *runner) fromRoot(stop context.Context, src *watch.Source) error {
	pl := newPipeline(r)
	defer pl.close()
	for rebuilds := 0; ; rebuilds++ {
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
			if r.progress != nil {
				r.progress.done()
			}
			if r.follow {
				return r.idle()
			}
			return nil // the end of the catch-up: finish prints
		}
		var err error
		if r.follow {
			err = src.Follow(stop, r.proj.Cursors(), fn)
		} else {
			err = src.CatchUp(stop, r.proj.Cursors(), fn)
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
		r.cm.Log.Warn("rebuilding the projection", "projection", r.name, "reason", rw.Error())
		r.proj.Reset()
		r.printed = false
	}
}

// finish ends the run: on a normal end, the state is printed; what was
// applied is saved however the run ended; the error becomes the exit.
func (r *runner) finish(err error) error {
	if r.progress != nil {
		r.progress.done()
	}
	var be *batchError
	var ee *app.ExitError
	switch {
	case err == nil:
		if !r.follow || !r.printed || r.changed {
			err = r.print()
		}
		if err == nil {
			err = r.save()
		}
		if err != nil {
			return r.finish(err)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, errClosed):
		if err := r.saveApplied(); err != nil {
			return err
		}
	case errors.As(err, &be):
		if serr := r.saveApplied(); serr != nil {
			return serr
		}
		return &app.ExitError{Code: app.ExitFailed, Message: fmt.Sprintf("projection %s: %v", record.Quote(r.name), be)}
	case errors.As(err, &ee):
		_ = r.saveApplied()
		return ee
	default:
		// The handler's initial state (print), or the root: keep what was
		// applied, then stop.
		_ = r.saveApplied()
		return &app.ExitError{Code: app.ExitFatal, Message: fmt.Sprintf("projection %s: %v", record.Quote(r.name), err)}
	}
	if s := r.cm.Report.Status(); s != app.ExitOK {
		return app.Exit(s)
	}
	return nil
}

// saveApplied saves when the run stops early, if this run applied
// anything: a rebuild stopped before its first batch leaves the old
// checkpoint as it was.
func (r *runner) saveApplied() error {
	if r.applied == 0 {
		return nil
	}
	return r.save()
}
