package main

import (
	"bufio"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// routes reads --handler and --type into routes by aggregate type.
func routes(c *cli.Context) (exec.Routes, error) {
	r, untyped, err := exec.ParseRoutes(c.StringSlice("handler"))
	if err != nil {
		return nil, app.UsageError(err.Error())
	}
	switch t := c.String("type"); {
	case len(untyped) > 1:
		return nil, app.UsageError(fmt.Sprintf("--handler %s: more than one handler without a type", record.Quote(untyped[1])))
	case len(untyped) == 1 && t == "" && !c.IsSet("type"):
		return nil, &app.ExitError{Code: app.ExitUsage,
			Message: fmt.Sprintf("--handler %s has no aggregate type", record.Quote(untyped[0])),
			Hint:    "give --type T, or write --handler T=CMD"}
	case len(untyped) == 1:
		if err := store.CheckName("aggregate_type", t); err != nil {
			return nil, app.UsageError("--type: " + err.Error())
		}
		if _, dup := r[t]; dup {
			return nil, app.UsageError(fmt.Sprintf("--handler: aggregate_type %s has two handlers", record.Quote(t)))
		}
		r[t] = untyped[0]
	}
	return r, nil
}

func runExec(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	rt, err := routes(c)
	if err != nil {
		return err
	}
	inject := c.Bool("inject")
	if len(rt) == 0 && !inject {
		return &app.ExitError{Code: app.ExitUsage, Message: "no handler given",
			Hint: "give --handler TYPE=CMD (repeatable), or --type T --handler CMD"}
	}
	cfg, err := app.EngineConfig(c, cm, nil)
	if err != nil {
		return err
	}
	defaults := record.EnvelopeDefaults{Type: c.String("type"), ID: c.String("id"), Bare: c.Bool("bare")}
	if defaults.Bare && (defaults.Type == "" || defaults.ID == "") {
		return app.UsageError("--bare needs --type and --id")
	}
	// Failed lines go to --rejects a batch at a time, in one O_APPEND
	// write, as fold-pm keeps its own: the two may share a file.
	var rejects *pm.Letters
	var letters []record.DeadLetter
	if path := c.String("rejects"); path != "" {
		rejects = &pm.Letters{Path: path}
		if err := rejects.Create(); err != nil {
			return app.Fatal(err)
		}
	}

	cfg.Routes = rt.Pools(app.HandlerBase(c, env), cm.Root.Dir, cfg.Jobs)
	defer exec.ClosePools(cfg.Routes)
	eng := exec.New(cfg)

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	ctx := c.Context // work in hand is finished even after a stop signal
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	var buf []byte
	submit := func(line []byte) *exec.Pending {
		if inject {
			in, ev, err := record.ParseInject(line, defaults)
			if err != nil {
				return exec.Done(exec.AsFailure(err, exec.KindInvalid))
			}
			return eng.Inject(ctx, record.StreamID{Type: in.AggregateType, ID: in.InstanceID}, ev)
		}
		e, err := record.ParseEnvelope(line, defaults)
		if err != nil {
			return exec.Done(exec.AsFailure(err, exec.KindInvalid))
		}
		return eng.Submit(ctx, e)
	}
	fatal, outage := false, false // outage: the store could not be reached
	emit := func(o exec.Outcome) error {
		if f := o.Result.Failure; f != nil {
			cm.Report.Report(app.Failure{
				Line: o.Line, Kind: string(f.Kind), Message: f.Error(), Input: o.Input,
				Retryable: f.Kind.Retryable(), Counts: f.Kind != exec.KindDuplicate, Fatal: f.Kind.Fatal(),
			})
			if rejects != nil && f.Kind != exec.KindDuplicate {
				letters = append(letters, record.DeadLetter{Envelope: o.Input, Error: f.Error(), Ts: time.Now().Unix()})
			}
			if f.Kind.Fatal() {
				fatal = true
				outage = outage || errors.Is(f, store.ErrUnavailable)
				cancel()
			}
			return nil
		}
		for _, r := range o.Result.Records {
			buf = record.AppendRecord(buf[:0], r)
			buf = append(buf, '\n')
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	flush := func() error {
		if rejects != nil {
			if err := rejects.Append(letters); err != nil {
				return app.Fatal(err)
			}
			clear(letters)
			letters = letters[:0]
		}
		return out.Flush()
	}
	err = exec.Pipe(stop, env.Stdin, submit, emit, flush)
	if cerr := eng.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		var ee *app.ExitError
		if errors.As(err, &ee) {
			return ee
		}
		return app.Fatal(fmt.Errorf("read input: %w", err))
	}
	if fatal && outage {
		return app.Exit(app.ExitRetryable)
	}
	if fatal {
		return app.Exit(app.ExitFatal)
	}
	if s := cm.Report.Status(); s != app.ExitOK {
		return app.Exit(s)
	}
	return nil
}

func runState(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommon(c, env)
	if err != nil {
		return err
	}
	if c.NArg() != 2 {
		return app.UsageError("state needs TYPE and ID")
	}
	id := record.StreamID{Type: c.Args().Get(0), ID: c.Args().Get(1)}
	if err := store.CheckStream(id); err != nil {
		return app.UsageError(err.Error())
	}
	at := c.Uint64("at-version")
	if c.IsSet("at-version") && at == 0 {
		return &app.ExitError{Code: app.ExitUsage, Message: "--at-version 0 is not a version (versions start at 1)",
			Hint: "leave --at-version out for the state now"}
	}
	rt, err := routes(c)
	if err != nil {
		return err
	}
	cmd, ok := rt[id.Type]
	if !ok {
		return &app.ExitError{Code: app.ExitUsage, Message: fmt.Sprintf("no handler for aggregate_type %s", record.Quote(id.Type)),
			Hint: "give --handler " + id.Type + "=CMD"}
	}
	pools := exec.Routes{id.Type: cmd}.Pools(app.HandlerBase(c, env), cm.Root.Dir, 1)
	defer exec.ClosePools(pools)
	st, err := exec.ReadState(c.Context, cm.Store, pools[id.Type], cm.Log, id, at)
	var f *exec.Failure
	switch {
	case errors.Is(err, store.ErrNoStream):
		return &app.ExitError{Code: app.ExitFailed, Message: fmt.Sprintf("no such stream %s", record.Quote(id.String()))}
	case errors.As(err, &f): // past its end, a corrupt line, the handler failed
		return &app.ExitError{Code: app.ExitFailed, Message: err.Error()}
	case err != nil:
		return app.Fatal(err)
	}
	b, err := record.Marshal(st)
	if err != nil {
		return app.Fatal(err)
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
	return app.OutputError(err)
}

func runStreams(c *cli.Context, env app.Env) error {
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
	return app.ListStreams(env.Stdout, cm.Store, types)
}
