package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/fsck"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

func runExec(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommon(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	rt, err := app.Routes(c)
	if err != nil {
		return err
	}
	run := &app.Commands{Inject: c.Bool("inject"), Report: cm.Report, MaxLine: record.MaxLine(cm.MaxEvent),
		Defaults: record.EnvelopeDefaults{Type: c.String("type"), ID: c.String("id"), Bare: c.Bool("bare")}}
	if len(rt) == 0 && !run.Inject {
		return &app.ExitError{Code: app.ExitUsage, Message: "no handler given",
			Hint: "give --handler TYPE=CMD (repeatable), or --type T --handler CMD"}
	}
	cfg, err := app.EngineConfig(c, cm, nil)
	if err != nil {
		return err
	}
	if run.Defaults.Bare && (run.Defaults.Type == "" || run.Defaults.ID == "") {
		return app.UsageError("--bare needs --type and --id")
	}
	// Failed lines go to --rejects a batch at a time, in one O_APPEND
	// write, as fold-pm keeps its own: the two may share a file.
	if path := c.String("rejects"); path != "" {
		run.Rejects = &pm.Letters{Path: path}
		if err := run.Rejects.Create(); err != nil {
			return app.Fatal(err)
		}
	}
	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	pools, closePools, err := app.StartHandlers(stop, c, env, cm, rt, cfg.Jobs)
	defer closePools()
	cfg.Routes = pools
	if err != nil {
		return err // before any input is read
	}
	ins, closeAll, err := app.Inputs(c.Args().Slice(), env.Stdin)
	if err != nil {
		return err
	}
	defer closeAll()
	if !cm.Store.Exists() {
		cm.Log.Info(fmt.Sprintf("no store at %s yet: the first event appended creates it", record.Quote(cm.Store.Location())))
	}
	cm.Log.Debug("running", "store", cm.Store.Location(), "types", rt.Types(), "jobs", cfg.Jobs, "sync", string(cfg.Sync))
	run.Engine = exec.New(cfg)
	if !app.IsTerminal(env.Stdout) {
		run.Progress = app.NewProgress(env.Stderr, "fold-exec")
	}
	// Work in hand is finished even after a stop signal: c.Context.
	return run.Run(stop, c.Context, cancel, ins, env.Stdout)
}

func runState(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommon(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	if c.NArg() != 2 {
		return app.UsageError("state needs TYPE and ID")
	}
	id := record.StreamID{Type: c.Args().Get(0), ID: c.Args().Get(1)}
	if err := store.CheckStream(id); err != nil {
		return app.UsageError(err.Error())
	}
	var at uint64
	if c.IsSet("at-version") {
		if at, err = strconv.ParseUint(c.String("at-version"), 10, 64); err != nil || at == 0 {
			return &app.ExitError{Code: app.ExitUsage, Message: fmt.Sprintf("--at-version %s is not a version (versions are whole numbers from 1)", record.Quote(c.String("at-version"))),
				Hint: "leave --at-version out for the state now"}
		}
	}
	rt, err := app.Routes(c)
	if err != nil {
		return err
	}
	cmd, ok := rt[id.Type]
	if !ok {
		return &app.ExitError{Code: app.ExitUsage, Message: fmt.Sprintf("no handler for aggregate_type %s", record.Quote(id.Type)),
			Hint: "give --handler " + id.Type + "=CMD"}
	}
	pools, closePools, err := app.StartHandlers(c.Context, c, env, cm, exec.Routes{id.Type: cmd}, 1)
	defer closePools()
	if err != nil {
		return err
	}
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
	defer cm.Close()
	types, err := app.Types(c.StringSlice("type"))
	if err != nil {
		return err
	}
	return app.ListStreams(env.Stdout, cm, types)
}

func runCheck(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	if _, files := cm.Store.(store.Root); !files {
		return &app.ExitError{Code: app.ExitUsage, Message: fmt.Sprintf("check reads a root directory's files, and the streams are in %s", record.Quote(cm.Store.Location())),
			Hint: "run it without --store and $FOLD_STORE"}
	}
	if !cm.Root.Exists() {
		cm.WarnNoStore()
	}
	cfg := fsck.Config{Root: cm.Root, Repair: c.Bool("repair"), LockTimeout: c.Duration("lock-timeout"), MaxEvent: cm.MaxEvent, Log: cm.Log}
	sum, err := fsck.Report(c.Context, cfg, env.Stdout)
	if err != nil {
		return app.OutputError(err)
	}
	if sum.OK() {
		return nil
	}
	e := &app.ExitError{Code: app.ExitFailed, Message: fmt.Sprintf("%d error(s) in root %s", sum.Errors, record.Quote(cm.Root.Dir))}
	if sum.Repairable > 0 {
		e.Hint = fmt.Sprintf("fold-exec check --repair fixes %d of them", sum.Repairable)
	}
	return e
}
