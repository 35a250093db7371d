package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/projection"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

func runProject(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	name := c.String("name")
	if name == "" {
		return &app.ExitError{Code: app.ExitUsage, Message: "--name is required",
			Hint: "name the projection: its checkpoint is projections/NAME/checkpoint.json"}
	}
	if err := store.CheckName("name", name); err != nil {
		return app.UsageError("--name: " + err.Error())
	}
	cp := checkpoint.At(cm.Root.ProjectionDir(name))
	if c.Bool("show") {
		for _, f := range []string{"stdin", "follow", "rebuild", "poll"} {
			if c.IsSet(f) {
				return app.UsageError(fmt.Sprintf("--show does not run anything: --%s makes no sense with it", f))
			}
		}
		return show(cp, name, env)
	}
	cmd := c.String("handler")
	if strings.TrimSpace(cmd) == "" {
		return &app.ExitError{Code: app.ExitUsage, Message: "no handler given",
			Hint: "give --handler CMD, e.g. --handler 'jq --unbuffered -c -f totals.jq'"}
	}
	types, err := app.Subscriptions(c.StringSlice("subscribe"))
	if err != nil {
		return err
	}
	follow, fromStdin := c.Bool("follow"), c.Bool("stdin")
	if c.IsSet("poll") && (!follow || fromStdin) {
		return app.UsageError("--poll needs --follow and the root (not --stdin)")
	}
	batch, err := app.IntAtLeast(c, "batch", 1)
	if err != nil {
		return err
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	// A closed stdout must be an error to handle, not a silent death, so
	// what was applied is saved.
	defer app.CatchHangup(stop, cancel, env.Stdout, follow)()

	cfg := handler.Config{Command: cmd, Timeout: c.Duration("handler-timeout"), Stderr: env.Stderr,
		Env: []string{"FOLD_ROLE=projection", "FOLD_ROOT=" + cm.Root.Dir, "FOLD_NAME=" + name}}
	if strings.Contains(env.Getenv("FOLD_DEBUG"), "protocol") {
		cfg.Debug = env.Stderr
	}
	pool := handler.NewPool(cfg, 1)
	defer pool.Close()
	if err := pool.Start(stop, handler.ProjectionProbe(name)); err != nil {
		return app.HandlerStart(err) // before any input is read
	}

	r := &runner{name: name, cm: cm, work: c.Context, cp: &cp, follow: follow,
		out: bufio.NewWriterSize(env.Stdout, 64<<10)}
	if !fromStdin && !follow && !cm.Store.Exists() {
		// Nothing to read, and a reader never creates a root: show the
		// handler's initial state without saving it.
		r.proj = projection.New(name, pool, checkpoint.Empty())
		r.cp = nil
		return r.finish(nil)
	}
	unlock, err := cp.Lock(stop, c.Duration("lock-timeout"))
	if err != nil {
		if errors.Is(err, checkpoint.ErrBusy) {
			return &app.ExitError{Code: app.ExitRetryable,
				Message: fmt.Sprintf("projection %s is in use: %v", record.Quote(name), err),
				Hint:    "wait for the other run to end, or give a longer --lock-timeout"}
		}
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return app.Fatal(err)
	}
	defer unlock()
	loaded := checkpoint.Empty()
	if !c.Bool("rebuild") {
		if loaded, _, err = cp.Load(); err != nil {
			return &app.ExitError{Code: app.ExitFatal, Message: err.Error(),
				Hint: "--rebuild replays every record and replaces it"}
		}
	}
	r.proj = projection.New(name, pool, loaded)
	if c.Bool("rebuild") {
		r.proj.Reset()
	}
	if fromStdin {
		return r.finish(r.fromStdin(stop, env.Stdin, types, batch))
	}
	src := &watch.Source{Store: cm.Store, Types: types, MaxBatch: batch, Poll: c.Duration("poll"), Log: cm.Log,
		OnCorrupt: cm.Report.Corrupt}
	if f, ok := env.Stderr.(*os.File); ok && isTerminal(f) {
		r.progress = newProgress(f, name)
		src.Progress = r.progress.update
	}
	return r.finish(r.fromRoot(stop, src))
}

// show prints the saved state.
func show(cp checkpoint.File, name string, env app.Env) error {
	saved, found, err := cp.Load()
	if err != nil {
		return app.Fatal(err)
	}
	if !found {
		return &app.ExitError{Code: app.ExitFailed,
			Message: fmt.Sprintf("projection %s has never run (no %s)", record.Quote(name), record.Quote(cp.Path)),
			Hint:    "run it first: fold-project --name " + name + " --handler CMD"}
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", saved.State)
	if err != nil && !errors.Is(err, syscall.EPIPE) {
		return app.Fatal(err)
	}
	return nil
}
