package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/projection"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// saveEvery bounds how often the checkpoint is saved while records keep
// coming (a save is an fsync); it is also saved whenever the input is
// idle and when the run ends, so a crash costs at most this much replay.
const saveEvery = 2 * time.Second

func runProject(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	cfg, err := app.ConsumerConfig(c, cm, consumer.Projection, saveEvery)
	if err != nil {
		return err
	}
	name := cfg.Name
	if c.Bool("show") {
		for _, f := range []string{"stdin", "follow", "rebuild", "poll", "dry-run"} {
			if c.IsSet(f) {
				return app.UsageError(fmt.Sprintf("--show does not run anything: --%s makes no sense with it", f))
			}
		}
		return show(cfg, env)
	}
	if cfg.Handler = c.String("handler"); strings.TrimSpace(cfg.Handler) == "" {
		return &app.ExitError{Code: app.ExitUsage, Message: "no handler given",
			Hint: "give --handler CMD, e.g. --handler 'jq --unbuffered -c -f examples/counter/total_counter.jq'"}
	}
	feed, err := app.FeedFlags(c)
	if err != nil {
		return err
	}
	follow, fromStdin := feed.Follow, feed.Stdin
	batch, err := app.IntAtLeast(c, "batch", 1)
	if err != nil {
		return err
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	// A closed stdout must be an error to handle, not a silent death, so
	// what was applied is saved.
	defer app.CatchHangup(stop, cancel, env.Stdout, follow)()

	pool := handler.NewPool(app.OwnHandler(app.HandlerBase(c, env), cm, "projection", name, cfg.Handler), 1)
	defer pool.Close()
	if err := pool.Start(stop, handler.ProjectionProbe(name)); err != nil {
		return app.HandlerStart(err) // before any input is read
	}

	r := &projection.Runner{Out: env.Stdout, Follow: follow, Log: cm.Log}
	if !fromStdin && !follow && !cm.Store.Exists() {
		// Nothing to read, and a reader never creates a root: show the
		// handler's initial state without saving it.
		cm.WarnNoStore()
		r.Proj = projection.New(name, pool, record.Checkpoint{})
		return exit(r.Show(c.Context), nil, 0, cm, name)
	}
	con, err := app.OpenConsumer(stop, cfg)
	if err != nil {
		return err
	}
	r.Proj, r.Saver = projection.New(name, pool, con.Start()), con
	if fromStdin {
		err = r.FromStdin(stop, c.Context, watch.Lines(env.Stdin, batch, record.MaxLine(cm.MaxEvent), cm.Report.BadLine), cfg.Subscribe)
	} else {
		src := &watch.Source{Store: cm.Store, Types: cfg.Subscribe, MaxBatch: batch, Poll: c.Duration("poll"), Log: cm.Log,
			OnCorrupt: cm.Report.Corrupt, Checked: con.Checked()}
		progress := app.NewProgress(env.Stderr, "fold-project")
		src.Progress, r.CaughtUp = progress.CatchUp(name), progress.Done
		err = r.FromRoot(stop, c.Context, src)
		progress.Done()
	}
	return exit(err, con, r.Applied(), cm, name)
}

// exit closes the run as it ended and turns that into the exit status.
func exit(err error, con *consumer.Consumer, applied int64, cm app.Common, name string) error {
	clean, out := app.RunExit(err)
	var be *projection.BatchError
	if errors.As(err, &be) {
		out = &app.ExitError{Code: app.ExitFailed, Message: fmt.Sprintf("projection %s: %v", record.Quote(name), be)}
	}
	return app.EndRun(con, consumer.Result{Clean: clean, Records: applied}, err, out, cm.Report)
}

// show prints the saved state.
func show(cfg consumer.Config, env app.Env) error {
	saved, found, err := consumer.Saved(cfg.Dir)
	if err != nil {
		return app.Fatal(err)
	}
	if !found {
		return &app.ExitError{Code: app.ExitFailed,
			Message: fmt.Sprintf("projection %s has never run (no checkpoint in %s)", record.Quote(cfg.Name), record.Quote(cfg.Dir)),
			Hint:    "run it first: fold-project --name " + cfg.Name + " --handler CMD"}
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", saved.State)
	return app.OutputError(err)
}
