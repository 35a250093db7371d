package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
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
	feed     app.Feed
	own      string      // the process manager's handler
	routes   exec.Routes // aggregate handlers, with --dispatch
	dispatch bool
	batch    int
}

func parseOptions(c *cli.Context, cm app.Common) (o options, err error) {
	if o.cfg, err = app.ConsumerConfig(c, cm, consumer.ProcessManager, saveEvery); err != nil || c.Bool("commit") {
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
	if o.feed, err = app.FeedFlags(c); err != nil {
		return o, err
	}
	for _, f := range append(app.EngineFlagNames(), "exec", "at-most-once") {
		if c.IsSet(f) && o.dispatch == (f == "exec" || f == "at-most-once") {
			if o.dispatch {
				return o, app.UsageError(fmt.Sprintf("--%s is for commands printed for a downstream: with --dispatch fold-pm runs them and confirms by itself", f))
			}
			return o, app.UsageError(fmt.Sprintf("--%s is a flag of --dispatch: without it fold-pm runs no commands", f))
		}
	}
	o.batch, err = app.IntAtLeast(c, "batch", 1)
	return o, err
}

func runPM(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
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
	if !o.feed.Stdin && !o.feed.Follow && !cm.Store.Exists() {
		cm.WarnNoStore()
		return nil // nothing to react to, and a reader never creates a root
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	defer app.CatchHangup(stop, cancel, env.Stdout, o.feed.Follow)()
	con, err := app.OpenConsumer(stop, o.cfg)
	if err != nil {
		return err
	}

	base := app.HandlerBase(c, env)
	h := handler.NewPool(app.OwnHandler(base, cm, "process_manager", o.cfg.Name, o.own), 1) // a pool: jq:FILE runs in-process
	defer h.Close()
	if err := h.Start(stop, handler.ProcessManagerProbe(o.cfg.Name)); err != nil {
		return app.HandlerStart(err) // before any input is read
	}
	letters := pm.LettersAt(o.cfg.Dir)
	run := pm.RunConfig{Name: o.cfg.Name, Types: o.cfg.Subscribe, Handler: h, Saver: con, Letters: &letters,
		DryRun: o.cfg.DryRun, Batch: o.batch, Log: cm.Log, Start: con.Start(), Out: ds, Stdout: env.Stdout, Follow: o.feed.Follow,
		Report: func(f pm.Failure) {
			cm.Report.Report(app.Failure{Kind: string(f.Kind), Message: f.Error(), Input: f.Envelope, Counts: true})
		}}
	if o.dispatch && !o.cfg.DryRun {
		pools, closePools, err := app.StartHandlers(stop, c, env, cm, o.routes, ecfg.Jobs)
		defer closePools()
		if err != nil {
			return err
		}
		ecfg.Routes = pools
		eng := exec.New(ecfg)
		defer eng.Close()
		run.Dispatch = eng
	}
	progress := app.NewProgress(env.Stderr, "fold-pm")
	if o.feed.Stdin {
		run.Stdin, run.Bad, run.MaxLine = env.Stdin, cm.Report.BadLine, record.MaxLine(cm.MaxEvent)
	} else {
		run.Source = &watch.Source{Store: cm.Store, Types: o.cfg.Subscribe, Poll: o.feed.Poll, Log: cm.Log,
			OnCorrupt: cm.Report.Corrupt, Progress: progress.CatchUp(o.cfg.Name)}
	}
	m, err := pm.Start(stop, run)
	progress.Done()
	return finish(err, m, con, letters, o.cfg.Name, cm)
}

// finish closes the run as it ended and turns that into the exit status.
func finish(err error, m *pm.Manager, con *consumer.Consumer, letters pm.Letters, name string, cm app.Common) error {
	clean, exit := app.RunExit(err)
	var re *pm.ReactError
	var rw *watch.RewrittenError
	switch {
	case errors.As(err, &re):
		// What was printed before the record the handler failed on went
		// out whole: it may be confirmed.
		clean = true
		exit = &app.ExitError{Code: app.ExitFailed, Message: err.Error(),
			Hint: "the checkpoint stops before this record: fix the handler and run again"}
	case errors.As(err, &rw):
		exit = &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
			Hint: "the process manager reacted to what the stream held before; --rebuild reacts to every record again (commands keep their ids, so only what never took effect is applied)"}
	case exit == nil && m.Stats().DeadLetters > 0:
		exit = &app.ExitError{Code: app.ExitFailed,
			Hint: fmt.Sprintf("%d command(s) dead-lettered in %s: fold-pm retry --name %s --handler TYPE=CMD sends them again", m.Stats().DeadLetters, record.Quote(letters.Path), name)}
	}
	res := consumer.Result{Clean: clean, Records: m.Stats().Records, Broken: m.Broken()}
	return app.EndRun(con, res, err, exit, cm.Report)
}
