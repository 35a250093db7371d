package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Commands is one fold-exec run: input lines through the engine, event
// records out, failures reported (and kept in --rejects).
type Commands struct {
	Engine   *exec.Engine
	Defaults record.EnvelopeDefaults
	Inject   bool        // lines are events to append, not commands
	Rejects  *pm.Letters // where failed lines are kept; nil: nowhere
	Report   *Reporter
	MaxLine  int       // the longest input line (record.MaxLine)
	Progress *Progress // a status line while a long input is read; nil for none
}

// Input is a source of input lines: a file named on the command line, or
// stdin (Name "").
type Input struct {
	Name string
	R    io.Reader
}

// Inputs opens the files args name, in order, as jq and Miller take them;
// "-" is stdin, and no argument at all means stdin. A file that cannot be
// opened is a usage error before anything is read.
func Inputs(args []string, stdin io.Reader) (ins []Input, closeAll func(), err error) {
	var files []*os.File
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	if len(args) == 0 {
		return []Input{{R: stdin}}, closeAll, nil
	}
	for _, a := range args {
		if a == "-" {
			ins = append(ins, Input{R: stdin})
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			closeAll()
			return nil, nil, &ExitError{Code: ExitUsage, Message: err.Error(), Hint: "name input files that exist, or - for stdin"}
		}
		files = append(files, f)
		ins = append(ins, Input{Name: a, R: f})
	}
	return ins, closeAll, nil
}

// Run reads the inputs line by line, one after the other, until they end
// or stop is done, finishing the lines in hand (handler calls run under
// work, which a stop does not cancel), and writes the records of each line
// to out in input order. It returns the run's exit.
func (r *Commands) Run(stop, work context.Context, cancel func(), ins []Input, out io.Writer) error {
	w := bufio.NewWriterSize(out, 64<<10)
	var buf []byte
	var letters []record.DeadLetter
	fatal, outage := false, false // outage: the store could not be reached
	submit := func(line []byte) *exec.Pending {
		if r.Inject {
			in, ev, err := record.ParseInject(line, r.Defaults)
			if err != nil {
				return exec.Done(exec.AsFailure(err, exec.KindInvalid))
			}
			return r.Engine.Inject(work, record.StreamID{Type: in.AggregateType, ID: in.InstanceID}, ev)
		}
		e, err := record.ParseEnvelope(line, r.Defaults)
		if err != nil {
			return exec.Done(exec.AsFailure(err, exec.KindInvalid))
		}
		return r.Engine.Submit(work, e)
	}
	var file string // the input being read, for messages
	var lines, events int64
	start := time.Now()
	emit := func(o exec.Outcome) error {
		lines, events = lines+1, events+int64(len(o.Result.Records))
		r.Progress.Show("%d lines, %d events appended (%.0f lines/s)", lines, events, float64(lines)/time.Since(start).Seconds())
		if f := o.Result.Failure; f != nil {
			// A failure kept in --rejects is handled, as a dead letter is:
			// it is reported, but does not fail the run, so that
			// `fold-pm | fold-exec --rejects F && fold-pm --commit` moves on.
			kept := r.Rejects != nil && f.Kind != exec.KindDuplicate && !f.Kind.Fatal()
			r.Report.Report(Failure{
				Line: o.Line, File: file, Kind: string(f.Kind), Message: f.Error(), Input: o.Input, Retryable: f.Kind.Retryable(),
				Counts: f.Kind != exec.KindDuplicate && (!kept || f.Kind.Retryable()), Fatal: f.Kind.Fatal(), Note: f.Kind == exec.KindDuplicate,
			})
			if kept {
				letters = append(letters, record.DeadLetter{Envelope: o.Input, Error: f.Error(), Ts: time.Now().Unix()})
			}
			if f.Kind.Fatal() {
				fatal = true
				outage = outage || errors.Is(f, store.ErrUnavailable)
				cancel()
			}
			return nil
		}
		for _, rec := range o.Result.Records {
			buf = append(record.AppendRecord(buf[:0], rec), '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	flush := func() error {
		if r.Rejects != nil {
			if err := r.Rejects.Append(letters); err != nil {
				return Fatal(err)
			}
			clear(letters)
			letters = letters[:0]
		}
		return w.Flush()
	}
	defer r.Progress.Done()
	var err error
	for _, in := range ins {
		if file = in.Name; err != nil || stop.Err() != nil {
			break
		}
		err = exec.Pipe(stop, in.R, r.MaxLine, r.Engine.InputBudget(), submit, emit, flush)
	}
	if cerr := r.Engine.Close(); err == nil && cerr != nil {
		err = cerr
	}
	switch {
	case err != nil:
		if ee, ok := errors.AsType[*ExitError](err); ok {
			return ee
		}
		return OutputError(fmt.Errorf("read input: %w", err))
	case fatal && outage:
		return Exit(ExitRetryable) // nothing half-written: run again once the store is back
	case fatal:
		return Exit(ExitFatal)
	}
	if s := r.Report.Status(); s != ExitOK {
		return Exit(s)
	}
	return nil
}

// Routes reads --handler (TYPE=CMD, repeatable, or one bare CMD) and
// --type into routes by aggregate type.
func Routes(c *cli.Context) (exec.Routes, error) {
	r, untyped, err := exec.ParseRoutes(c.StringSlice("handler"))
	if err != nil {
		return nil, UsageError(err.Error())
	}
	switch t := c.String("type"); {
	case len(untyped) > 1:
		return nil, UsageError(fmt.Sprintf("--handler %s: more than one handler without a type", record.Quote(untyped[1])))
	case len(untyped) == 1 && t == "" && !c.IsSet("type"):
		return nil, &ExitError{Code: ExitUsage,
			Message: fmt.Sprintf("--handler %s has no aggregate type", record.Quote(untyped[0])),
			Hint:    "give --type T, or write --handler T=CMD"}
	case len(untyped) == 1:
		if err := store.CheckName("aggregate_type", t); err != nil {
			return nil, UsageError("--type: " + err.Error())
		}
		if _, dup := r[t]; dup {
			return nil, UsageError(fmt.Sprintf("--handler: aggregate_type %s has two handlers", record.Quote(t)))
		}
		r[t] = untyped[0]
	}
	return r, nil
}
