package pm

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/record"
)

// A Sink delivers a process manager's commands. The Manager saves its
// checkpoint only after Flush returned, so what a Sink delivers must be
// delivered for good by then: written and flushed, or executed and durable.
type Sink interface {
	// Add takes one command. Commands are delivered in the order added.
	Add(ctx context.Context, c Command) error
	// Progress delivers what it can without waiting. The Manager calls it
	// after each record, so a slow reaction to the next record does not
	// hold back the commands of this one.
	Progress() error
	// Flush delivers every command added and returns those that failed,
	// to be dead-lettered. An error means delivery itself broke (a closed
	// stdout, an unusable root): the run stops and saves nothing more.
	Flush(ctx context.Context) ([]Failure, error)
}

// Failure is a command that was not applied, as it goes to the dead
// letters.
type Failure struct {
	Origin   Origin
	Envelope record.RawMessage // the envelope as it was to be sent
	Kind     exec.Kind
	Err      error
}

func (f Failure) Error() string { return f.Origin.String() + ": " + f.Err.Error() }

// Emitter is the Sink that prints envelopes, one JSON line each, for a
// fold-exec downstream to run. What it prints goes out within FlushDelay,
// so fold-exec can start on a record's commands while the handler thinks
// about the next record. Flush has the downstream confirm what was
// printed (a --exec command's exit status); a pipe confirms nothing, and
// its run is confirmed later (consumer.Commit).
type Emitter struct {
	w   *flusher
	ds  consumer.Downstream
	buf []byte
}

// NewEmitter returns an Emitter printing to ds. Close it when done.
func NewEmitter(ds consumer.Downstream) *Emitter {
	return &Emitter{w: newFlusher(ds), ds: ds}
}

// Add writes c's envelope line.
func (e *Emitter) Add(_ context.Context, c Command) error {
	e.buf = append(append(e.buf[:0], c.Line...), '\n')
	_, err := e.w.Write(e.buf)
	return err
}

// Progress has nothing to do: the output flushes itself.
func (e *Emitter) Progress() error { return nil }

// Flush flushes the output and has the downstream confirm it; printing
// never fails a command, but a downstream that does not confirm breaks
// the delivery.
func (e *Emitter) Flush(context.Context) ([]Failure, error) {
	if err := e.w.Flush(); err != nil {
		return nil, err
	}
	return nil, e.ds.Confirm()
}

// Close stops the timed flushing; call Flush first.
func (e *Emitter) Close() { e.w.Stop() }

// Submitter runs commands: an *exec.Engine.
type Submitter interface {
	Submit(ctx context.Context, env record.Envelope) *exec.Pending
}

// Dispatcher is the Sink that runs commands in-process through the command
// bus, as fold-exec would, and prints the event records they appended.
// Commands for different instances run in parallel while the process
// manager goes on reacting; records are printed in command order.
type Dispatcher struct {
	eng      Submitter
	w        *flusher
	log      *slog.Logger
	queue    []inflight
	failures []Failure
	buf      []byte
	appended int64
}

type inflight struct {
	cmd Command
	p   *exec.Pending
}

// NewDispatcher returns a Dispatcher running commands on eng and printing
// their records to w. Duplicates (commands applied before a crash) are
// logged at info level on log, which may be nil.
func NewDispatcher(eng Submitter, w io.Writer, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{eng: eng, w: newFlusher(w), log: log}
}

// Appended is the number of events the dispatched commands appended so far.
func (d *Dispatcher) Appended() int64 { return d.appended }

// Add submits c.
func (d *Dispatcher) Add(ctx context.Context, c Command) error {
	d.queue = append(d.queue, inflight{cmd: c, p: d.eng.Submit(ctx, c.Envelope)})
	return nil
}

// Progress prints the records of the commands done so far, in order; they
// go out within FlushDelay.
func (d *Dispatcher) Progress() error {
	n := 0
	for n < len(d.queue) && d.queue[n].p.Ready() {
		n++
	}
	if n == 0 {
		return nil
	}
	return d.take(n)
}

// Close stops the timed flushing; call Flush first.
func (d *Dispatcher) Close() { d.w.Stop() }

// Flush waits for every command, prints their records and returns the
// failures.
func (d *Dispatcher) Flush(context.Context) ([]Failure, error) {
	err := d.take(len(d.queue))
	if ferr := d.w.Flush(); err == nil {
		err = ferr
	}
	fs := d.failures
	d.failures = nil
	return fs, err
}

// take handles the outcomes of the first n queued commands. An I/O failure
// of the root stops the run: it is not the command's fault, so it is not
// dead-lettered, and the checkpoint stays where it was.
func (d *Dispatcher) take(n int) error {
	var fatal error
	for _, in := range d.queue[:n] {
		res := in.p.Wait()
		switch f := res.Failure; {
		case f == nil:
		case f.Kind == exec.KindDuplicate:
			d.log.Info("command already applied", "command_id", in.cmd.Envelope.CommandID, "from", in.cmd.Origin.String())
		case f.Kind.Fatal():
			if fatal == nil {
				fatal = fmt.Errorf("%s: %w", in.cmd.Origin, f)
			}
		default:
			d.failures = append(d.failures, Failure{Origin: in.cmd.Origin, Envelope: in.cmd.Line, Kind: f.Kind, Err: f})
		}
		for _, r := range res.Records {
			d.buf = append(record.AppendRecord(d.buf[:0], r), '\n')
			if _, err := d.w.Write(d.buf); err != nil {
				return err
			}
			d.appended++
		}
	}
	m := copy(d.queue, d.queue[n:])
	clear(d.queue[m:]) // drop the finished commands' references
	d.queue = d.queue[:m]
	return fatal
}
