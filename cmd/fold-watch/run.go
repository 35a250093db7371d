package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

// saveEvery bounds how often a durable consumer's checkpoint is saved
// while records keep coming; it is also saved whenever the reader is idle
// and when the run stops.
const saveEvery = time.Second

func runWatch(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	types := c.StringSlice("type")
	for _, t := range types {
		if err := store.CheckName("aggregate_type", t); err != nil {
			return app.UsageError("--type: " + err.Error())
		}
	}
	if c.Bool("list") {
		if c.IsSet("stream") || c.Bool("follow") || c.IsSet("checkpoint") || c.IsSet("poll") || c.IsSet("lock-timeout") {
			return app.UsageError("--list takes only --type")
		}
		return runList(cm.Store, types, env)
	}
	var streams []record.StreamID
	for _, s := range c.StringSlice("stream") {
		id, err := store.ParseStream(s)
		if err != nil {
			return app.UsageError("--stream: " + err.Error())
		}
		streams = append(streams, id)
	}
	if c.IsSet("poll") && !c.Bool("follow") {
		return app.UsageError("--poll needs --follow")
	}
	order := watch.ByStream
	switch o := c.String("order"); o {
	case "stream":
	case "store":
		if _, ok := cm.Store.(store.Ordered); !ok {
			return &app.ExitError{Code: app.ExitUsage, Message: "--order store: " + watch.ErrNoStoreOrder.Error(),
				Hint: "give --store nats://HOST:PORT[/NAME]"}
		}
		order = watch.ByStore
	default:
		return app.UsageError(fmt.Sprintf("--order %q is not stream or store", o))
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	// A closed stdout must be an error to handle, not a silent death, so
	// the checkpoint is saved and the last line is never half written.
	defer app.CatchHangup(stop, cancel, env.Stdout, c.Bool("follow"))()

	w := &watcher{cm: cm, out: bufio.NewWriterSize(env.Stdout, 64<<10), cursors: map[string]record.Cursor{}}
	if name := c.String("checkpoint"); name != "" {
		if err := store.CheckName("name", name); err != nil {
			return app.UsageError("--checkpoint: " + err.Error())
		}
		unlock, err := w.open(stop, name, c.Duration("lock-timeout"))
		if err != nil {
			return err
		}
		defer unlock()
	}
	src := &watch.Source{
		Store: cm.Store, Types: types, Streams: streams, Order: order, Poll: c.Duration("poll"), Log: cm.Log,
		OnCorrupt:   cm.Report.Corrupt,
		OnRewritten: w.rewritten,
	}
	if c.Bool("follow") {
		err = src.Follow(stop, w.cursors, w.batch)
	} else {
		err = src.CatchUp(stop, w.cursors, w.batch)
	}
	return w.finish(err)
}

// watcher is one run's output and, with --checkpoint, its durable cursors.
type watcher struct {
	cm      app.Common
	out     *bufio.Writer
	buf     []byte
	cursors map[string]record.Cursor
	cp      *checkpoint.File
	saved   time.Time
	dirty   bool
	closed  bool // stdout was closed under us
}

// open locks and loads the consumer's checkpoint.
func (w *watcher) open(ctx context.Context, name string, timeout time.Duration) (unlock func() error, err error) {
	cp := checkpoint.At(w.cm.Root.ConsumerDir(name))
	unlock, err = cp.Lock(ctx, timeout)
	if err != nil {
		if errors.Is(err, checkpoint.ErrBusy) {
			return nil, &app.ExitError{Code: app.ExitRetryable,
				Message: fmt.Sprintf("consumer %s is in use: %v", record.Quote(name), err),
				Hint:    "wait for the other run to end, or give a longer --lock-timeout"}
		}
		return nil, app.Fatal(err)
	}
	loaded, _, err := cp.Load()
	if err != nil {
		_ = unlock()
		return nil, &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
			Hint: "remove it to start the consumer over from the first record"}
	}
	w.cp, w.cursors, w.saved = &cp, loaded.Cursors, time.Now()
	return unlock, nil
}

// batch prints a batch, flushes it, and only then moves the cursors: a
// record is in the checkpoint only once it was handed to stdout.
func (w *watcher) batch(b watch.Batch) error {
	for _, r := range b.Records {
		w.buf = record.AppendRecord(w.buf[:0], r)
		w.buf = append(w.buf, '\n')
		if _, err := w.out.Write(w.buf); err != nil {
			return w.outputError(err)
		}
	}
	if err := w.out.Flush(); err != nil {
		return w.outputError(err)
	}
	if w.cp == nil {
		return nil
	}
	for _, r := range b.Records {
		w.cursors[r.Stream().String()] = record.Cursor{Offset: r.Offset, Hash: r.Hash}
		w.dirty = true
	}
	if b.Idle || time.Since(w.saved) >= saveEvery {
		return w.save()
	}
	return nil
}

func (w *watcher) save() error {
	if w.cp == nil || !w.dirty {
		return nil
	}
	if err := w.cp.Save(record.Checkpoint{State: record.Null, Cursors: w.cursors}); err != nil {
		return app.Fatal(err)
	}
	w.saved, w.dirty = time.Now(), false
	return nil
}

// errClosed stops a run whose reader went away.
var errClosed = errors.New("stdout closed")

func (w *watcher) outputError(err error) error {
	if errors.Is(err, syscall.EPIPE) {
		w.closed = true
		return errClosed
	}
	return app.Fatal(fmt.Errorf("write records: %w", err))
}

// rewritten reports a stream that no longer matches the consumer's cursor:
// it is printed again from its first record.
func (w *watcher) rewritten(e *watch.RewrittenError) error {
	w.cm.Log.Warn("printing the stream again from its start", "err", e.Error())
	delete(w.cursors, e.Stream.String())
	w.dirty = true
	return nil
}

// finish saves the checkpoint and turns how the run ended into its exit.
func (w *watcher) finish(err error) error {
	var ee *app.ExitError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, errClosed):
		// A clean stop: a signal, a reader that went away, or the end.
	case errors.Is(err, store.ErrNoStream):
		return &app.ExitError{Code: app.ExitFailed, Message: err.Error(),
			Hint: "list the streams with fold-watch --list"}
	case errors.As(err, &ee):
		_ = w.save()
		return ee
	default:
		_ = w.save()
		return app.Fatal(err)
	}
	if err := w.save(); err != nil {
		return err
	}
	if s := w.cm.Report.Status(); s != app.ExitOK {
		return app.Exit(s)
	}
	return nil
}

// runList prints the streams as fold-exec streams does: the same
// discovery, the same order.
func runList(st store.Store, types []string, env app.Env) error {
	return app.OutputError(app.ListStreams(env.Stdout, st, types))
}
