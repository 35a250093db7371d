package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

// saveEvery bounds how often the checkpoint is saved while records keep
// coming (a save rewrites and fsyncs the whole file, a cursor per stream);
// it is also saved whenever the input is idle and when the run ends. A
// crash costs at most this much reacting again, which emits commands that
// fold-exec drops as duplicates.
const saveEvery = time.Second

// options are a run's flags, checked.
type options struct {
	name      string
	types     []string
	own       string      // the process manager's handler
	routes    exec.Routes // aggregate handlers, with --dispatch
	dispatch  bool
	fromStdin bool
	follow    bool
	batch     int
}

func parseOptions(c *cli.Context) (options, error) {
	var o options
	if c.NArg() > 0 {
		return o, app.UsageError(fmt.Sprintf("unexpected argument %s", record.Quote(c.Args().First())))
	}
	name, err := pmName(c)
	if err != nil {
		return o, err
	}
	o.name = name
	if o.types, err = app.Subscriptions(c.StringSlice("subscribe")); err != nil {
		return o, err
	}
	if len(o.types) == 0 {
		return o, &app.ExitError{Code: app.ExitUsage, Message: "--subscribe is required",
			Hint: "name the aggregate types whose events the process manager reacts to, e.g. --subscribe order,inventory"}
	}
	routes, untyped, err := exec.ParseRoutes(c.StringSlice("handler"))
	if err != nil {
		return o, app.UsageError(err.Error())
	}
	o.routes, o.dispatch = routes, c.Bool("dispatch")
	switch {
	case len(untyped) == 0:
		return o, &app.ExitError{Code: app.ExitUsage, Message: "no handler given for the process manager",
			Hint: "give --handler CMD, e.g. --handler 'jq --unbuffered -c -f " + name + ".jq'"}
	case len(untyped) > 1:
		return o, &app.ExitError{Code: app.ExitUsage,
			Message: fmt.Sprintf("--handler %s: more than one handler without a type", record.Quote(untyped[1])),
			Hint:    "the process manager has one handler (CMD); aggregate handlers are TYPE=CMD, with --dispatch"}
	case len(routes) > 0 && !o.dispatch:
		return o, &app.ExitError{Code: app.ExitUsage,
			Message: fmt.Sprintf("--handler %s=…: aggregate handlers run commands, which needs --dispatch", routes.Types()[0]),
			Hint:    "add --dispatch, or pipe the envelopes into fold-exec"}
	case o.dispatch && len(routes) == 0:
		return o, &app.ExitError{Code: app.ExitUsage, Message: "--dispatch needs aggregate handlers",
			Hint: "give --handler TYPE=CMD for each aggregate type the commands go to"}
	}
	o.own = untyped[0]
	o.fromStdin, o.follow = c.Bool("stdin"), c.Bool("follow")
	if c.IsSet("poll") && (!o.follow || o.fromStdin) {
		return o, app.UsageError("--poll needs --follow and the root (not --stdin)")
	}
	if !o.dispatch {
		for _, f := range app.EngineFlagNames() {
			if c.IsSet(f) {
				return o, app.UsageError(fmt.Sprintf("--%s is a flag of --dispatch: without it fold-pm runs no commands", f))
			}
		}
	}
	if o.batch, err = app.IntAtLeast(c, "batch", 1); err != nil {
		return o, err
	}
	return o, nil
}

// pmName reads --name.
func pmName(c *cli.Context) (string, error) {
	name := c.String("name")
	if name == "" {
		return "", &app.ExitError{Code: app.ExitUsage, Message: "--name is required",
			Hint: "name the process manager: its files are in process_managers/NAME/"}
	}
	if err := store.CheckName("name", name); err != nil {
		return "", app.UsageError("--name: " + err.Error())
	}
	return name, nil
}

func runPM(c *cli.Context, env app.Env) error {
	o, err := parseOptions(c)
	if err != nil {
		return err
	}
	cm, err := app.ParseCommon(c, env)
	if err != nil {
		return err
	}
	var ecfg exec.Config
	if o.dispatch {
		if ecfg, err = app.EngineConfig(c, cm, nil); err != nil {
			return err
		}
	}
	if !o.fromStdin && !o.follow && !cm.Store.Exists() {
		return nil // nothing to react to, and a reader never creates a root
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	defer app.CatchHangup(stop, cancel, env.Stdout, o.follow)()

	dir := cm.Root.ProcessManagerDir(o.name)
	ck := checkpoint.At(dir)
	unlock, err := lock(stop, ck, o.name, c)
	if err != nil || unlock == nil {
		return err
	}
	defer unlock()
	cp := checkpoint.Empty()
	if !c.Bool("rebuild") {
		if cp, _, err = ck.Load(); err != nil {
			return &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
				Hint: "--rebuild reacts to every record again and replaces it"}
		}
	}

	base := app.HandlerBase(c, env)
	own := base
	own.Command = o.own
	own.Env = append(own.Env, "FOLD_ROLE=process_manager", "FOLD_ROOT="+cm.Root.Dir, "FOLD_NAME="+o.name)
	h := handler.NewPool(own, 1) // a pool, so that jq:FILE runs in-process
	defer h.Close()
	if err := h.Start(stop, handler.ProcessManagerProbe(o.name)); err != nil {
		return app.HandlerStart(err) // before any input is read
	}

	var sink pm.Sink
	var disp *pm.Dispatcher
	if o.dispatch {
		ecfg.Routes = o.routes.Pools(base, cm.Root.Dir, ecfg.Jobs)
		defer exec.ClosePools(ecfg.Routes)
		if err := exec.StartPools(stop, ecfg.Routes); err != nil {
			return app.HandlerStart(err)
		}
		eng := exec.New(ecfg)
		defer eng.Close()
		disp = pm.NewDispatcher(eng, env.Stdout, cm.Log)
		defer disp.Close()
		sink = disp
	} else {
		em := pm.NewEmitter(env.Stdout)
		defer em.Close()
		sink = em
	}
	letters := pm.LettersAt(dir)
	m := pm.New(pm.Config{
		Name: o.name, Types: o.types, Handler: h, Sink: sink, Checkpoint: ck, DeadLetters: letters, SaveEvery: saveEvery,
		Batch: o.batch,
		OnDeadLetter: func(f pm.Failure) {
			cm.Report.Report(app.Failure{Kind: string(f.Kind), Message: f.Error(), Input: f.Envelope, Counts: true})
		},
	}, cp)

	err = react(stop, m, o, cm, env, c, disp)
	return finish(err, m, o.name, letters, cm)
}

// lock takes the process manager's lock; a nil unlock with a nil error
// means the run was stopped while waiting.
func lock(stop context.Context, ck checkpoint.File, name string, c *cli.Context) (func() error, error) {
	unlock, err := ck.Lock(stop, c.Duration("lock-timeout"))
	switch {
	case err == nil:
		return unlock, nil
	case errors.Is(err, checkpoint.ErrBusy):
		return nil, &app.ExitError{Code: app.ExitRetryable,
			Message: fmt.Sprintf("process manager %s is in use by another run: %v", record.Quote(name), err),
			Hint:    "wait for the other run to end, or give a longer --lock-timeout"}
	case errors.Is(err, context.Canceled):
		return nil, nil
	}
	return nil, app.Fatal(err)
}

// react runs the process manager over its feed. A catch-up that dispatches
// is repeated until a pass appends nothing, since the events its commands
// append may be ones it reacts to: a saga runs to its end in one run.
func react(stop context.Context, m *pm.Manager, o options, cm app.Common, env app.Env, c *cli.Context, disp *pm.Dispatcher) error {
	if o.fromStdin {
		return m.Run(stop, watch.Lines(env.Stdin, 0, cm.Report.BadLine))
	}
	src := &watch.Source{Store: cm.Store, Types: o.types, Poll: c.Duration("poll"), Log: cm.Log,
		OnCorrupt: cm.Report.Corrupt}
	if o.follow {
		return m.Run(stop, src.Follow)
	}
	for {
		var before int64
		if disp != nil {
			before = disp.Appended()
		}
		if err := m.Run(stop, src.CatchUp); err != nil || disp == nil || disp.Appended() == before || stop.Err() != nil {
			return err
		}
		cm.Log.Info("dispatched commands appended events; catching up again", "events", disp.Appended()-before)
	}
}

// finish turns the run's end into the exit status.
func finish(err error, m *pm.Manager, name string, letters pm.Letters, cm app.Common) error {
	var re *pm.ReactError
	var rw *watch.RewrittenError
	switch {
	case err == nil:
	case errors.Is(err, syscall.EPIPE):
		// The reader of stdout went away: a clean stop. What it may not
		// have read was not checkpointed and is sent again next run.
	case errors.As(err, &re):
		return &app.ExitError{Code: app.ExitFailed, Message: err.Error(),
			Hint: "the checkpoint stops before this record: fix the handler and run again"}
	case errors.As(err, &rw):
		return &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
			Hint: "the process manager reacted to what the stream held before; --rebuild reacts to every record again (commands keep their ids, so only what never took effect is applied)"}
	case errors.Is(err, store.ErrNoStream):
		return &app.ExitError{Code: app.ExitFailed, Message: err.Error()}
	default:
		return app.Fatal(err)
	}
	if n := m.Stats().DeadLetters; n > 0 {
		return &app.ExitError{Code: app.ExitFailed,
			Hint: fmt.Sprintf("%d command(s) dead-lettered in %s: fold-pm retry --name %s --handler TYPE=CMD sends them again", n, record.Quote(letters.Path), name)}
	}
	if s := cm.Report.Status(); s != app.ExitOK {
		return app.Exit(s)
	}
	return nil
}
