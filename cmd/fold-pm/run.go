package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
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
	cfg      consumer.Config
	own      string      // the process manager's handler
	routes   exec.Routes // aggregate handlers, with --dispatch
	dispatch bool
	stdin    bool
	follow   bool
	batch    int
}

func parseOptions(c *cli.Context, cm app.Common) (o options, err error) {
	name, err := pmName(c)
	if err != nil {
		return o, err
	}
	o.cfg = consumer.Config{Dir: cm.Root.ProcessManagerDir(name), Kind: consumer.ProcessManager, Name: name,
		SaveEvery: saveEvery, Log: cm.Log, DryRun: c.Bool("dry-run")}
	if err := app.ConsumerLock(c, &o.cfg); err != nil {
		return o, err
	}
	if c.Bool("commit") {
		return o, nil
	}
	if o.cfg.Subscribe, err = app.Subscriptions(c.StringSlice("subscribe")); err != nil {
		return o, err
	}
	if len(o.cfg.Subscribe) == 0 {
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
			Hint: "give --handler CMD, e.g. --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq'"}
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
	o.own, o.cfg.Handler = untyped[0], untyped[0]
	o.stdin, o.follow = c.Bool("stdin"), c.Bool("follow")
	if err := app.NonNegative(c, "poll"); err != nil {
		return o, err
	}
	if c.IsSet("poll") && (!o.follow || o.stdin) {
		return o, app.UsageError("--poll needs --follow and the root (not --stdin)")
	}
	for _, f := range append(app.EngineFlagNames(), "exec", "at-most-once") {
		if c.IsSet(f) && o.dispatch == (f == "exec" || f == "at-most-once") {
			if o.dispatch {
				return o, app.UsageError(fmt.Sprintf("--%s is for commands printed for a downstream: with --dispatch fold-pm runs them and confirms by itself", f))
			}
			return o, app.UsageError(fmt.Sprintf("--%s is a flag of --dispatch: without it fold-pm runs no commands", f))
		}
	}
	if o.cfg.Rebuild, err = app.RebuildFlag(c); err != nil {
		return o, err
	}
	o.batch, err = app.IntAtLeast(c, "batch", 1)
	return o, err
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
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	o, err := parseOptions(c, cm)
	if err != nil {
		return err
	}
	if c.Bool("commit") {
		return app.Commit(c.Context, o.cfg)
	}
	var ecfg exec.Config
	if o.dispatch {
		if ecfg, err = app.EngineConfig(c, cm, nil); err != nil {
			return err
		}
	}
	var ds consumer.Downstream = consumer.Pipe{Writer: env.Stdout}
	if !o.dispatch {
		if o.cfg.Mode, ds, err = app.Delivery(c, env, "FOLD_ROOT="+cm.Root.Dir); err != nil {
			return err
		}
		o.cfg.Out = ds
	}
	if !o.stdin && !o.follow && !cm.Store.Exists() {
		cm.WarnNoStore()
		return nil // nothing to react to, and a reader never creates a root
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	defer app.CatchHangup(stop, cancel, env.Stdout, o.follow)()
	con, err := app.OpenConsumer(stop, o.cfg)
	if err != nil {
		return err
	}

	base := app.HandlerBase(c, env)
	own := base
	own.Command = o.own
	own.Env = append(own.Env, "FOLD_ROLE=process_manager", "FOLD_ROOT="+cm.Root.Dir, "FOLD_NAME="+o.cfg.Name)
	h := handler.New(own)
	defer h.Close()

	var sink pm.Sink
	if o.dispatch && !o.cfg.DryRun {
		ecfg.Routes = o.routes.Pools(base, cm.Root.Dir, ecfg.Jobs)
		defer exec.ClosePools(ecfg.Routes)
		eng := exec.New(ecfg)
		defer eng.Close()
		disp := pm.NewDispatcher(eng, env.Stdout, cm.Log)
		defer disp.Close()
		sink = disp
	} else {
		em := pm.NewEmitter(ds)
		defer em.Close()
		sink = em
	}
	letters := pm.LettersAt(o.cfg.Dir)
	mcfg := pm.Config{Name: o.cfg.Name, Types: o.cfg.Subscribe, Handler: h, Sink: sink, Checkpoint: con,
		DeadLetters: pm.Unique{Letters: letters}, Batch: o.batch, Log: cm.Log,
		OnDeadLetter: func(f pm.Failure) {
			cm.Report.Report(app.Failure{Kind: string(f.Kind), Message: f.Error(), Input: f.Envelope, Counts: true})
		}}
	if o.cfg.DryRun {
		mcfg.DeadLetters = nil
	}
	m := pm.New(mcfg, con.Start())
	switch {
	case o.stdin:
		err = m.Run(stop, watch.Lines(env.Stdin, 0, cm.Report.BadLine))
	default:
		src := &watch.Source{Store: cm.Store, Types: o.cfg.Subscribe, Poll: c.Duration("poll"), Log: cm.Log, OnCorrupt: cm.Report.Corrupt}
		progress := app.NewProgress(env.Stderr, "fold-pm")
		src.Progress = progress.CatchUp(o.cfg.Name)
		if o.follow {
			err = m.Run(stop, src.Follow)
		} else {
			err = m.CatchUp(stop, src)
		}
		progress.Done()
	}
	if x, ok := ds.(*consumer.Exec); ok {
		_ = x.Close()
	}
	return finish(err, m, con, letters, o.cfg.Name, cm)
}

// finish closes the run as it ended and turns that into the exit status.
func finish(err error, m *pm.Manager, con *consumer.Consumer, letters pm.Letters, name string, cm app.Common) error {
	var re *pm.ReactError
	// What was printed before a record the handler failed on went out
	// whole: it may be confirmed.
	res := consumer.Result{Clean: err == nil || errors.As(err, &re), Records: m.Stats().Records, Broken: m.Broken(), Err: err}
	var rw *watch.RewrittenError
	var ee *consumer.ExecError
	var out error
	switch {
	case err == nil:
	case errors.Is(err, syscall.EPIPE), errors.Is(err, context.Canceled):
		// The reader of stdout went away: what it may not have read was
		// not confirmed and is sent again next run.
		res.Err = nil
	case errors.As(err, &ee):
		out = app.DeliveryExit(ee)
	case errors.As(err, &re):
		out = &app.ExitError{Code: app.ExitFailed, Message: err.Error(),
			Hint: "the checkpoint stops before this record: fix the handler and run again"}
	case errors.As(err, &rw):
		out = &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
			Hint: "the process manager reacted to what the stream held before; --rebuild reacts to every record again (commands keep their ids, so only what never took effect is applied)"}
	case errors.Is(err, store.ErrNoStream):
		out = &app.ExitError{Code: app.ExitFailed, Message: err.Error()}
	default:
		out = app.Fatal(err)
	}
	if cerr := con.Close(res); cerr != nil && out == nil {
		out = app.Fatal(cerr)
	}
	if out != nil {
		return out
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
