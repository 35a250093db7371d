package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

// saveEvery bounds how often an --at-most-once consumer's checkpoint is
// saved while records keep coming; --exec saves after every confirmed
// batch.
const saveEvery = time.Second

func runWatch(c *cli.Context, env app.Env) error {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	types, err := app.Types(c.StringSlice("type"))
	if err != nil {
		return err
	}
	if c.Bool("list") {
		if c.IsSet("stream") || c.Bool("follow") || c.IsSet("checkpoint") || c.IsSet("poll") || c.IsSet("exec") {
			return app.UsageError("--list takes only --type")
		}
		return app.ListStreams(env.Stdout, cm, types)
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
	keep, limit, err := app.Selection(c, len(streams), time.Now())
	if err != nil {
		return err
	}
	name := c.String("checkpoint")
	cfg := consumer.Config{Dir: cm.Root.ConsumerDir(name), Kind: consumer.Watch, Name: name,
		Subscribe: types, Streams: streams, SaveEvery: saveEvery, Log: cm.Log}
	if name != "" {
		if err := store.CheckName("name", name); err != nil {
			return app.UsageError("--checkpoint: " + err.Error())
		}
		if err := app.ConsumerLock(c, &cfg); err != nil {
			return err
		}
	}
	if c.Bool("commit") {
		if name == "" || c.Bool("follow") || c.IsSet("exec") || c.IsSet("type") || c.IsSet("stream") || c.IsSet("at-most-once") {
			return app.UsageError("--commit takes only --checkpoint NAME (and --root, --lock-timeout, --if-busy)")
		}
		return app.Commit(c.Context, cfg)
	}
	var ds consumer.Downstream
	if cfg.Mode, ds, err = app.Delivery(c, env, "FOLD_ROOT="+cm.Root.Dir); err != nil {
		return err
	}
	cfg.Out = ds
	if name == "" && (c.Bool("at-most-once")) {
		return app.UsageError("--at-most-once needs --checkpoint NAME: without one nothing is kept")
	}
	if _, ok := ds.(*consumer.Exec); ok {
		cfg.SaveEvery = 0
	}
	if !c.Bool("follow") && !cm.Store.Exists() {
		cm.WarnNoStore()
		return nil
	}

	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	// A closed stdout must be an error to handle, not a silent death, so
	// the checkpoint is saved and the last line is never half written.
	defer app.CatchHangup(stop, cancel, env.Stdout, c.Bool("follow"))()

	var con *consumer.Consumer
	if name != "" {
		if con, err = app.OpenConsumer(stop, cfg); err != nil {
			return err
		}
	}
	var progress *app.Progress
	if !app.IsTerminal(env.Stdout) { // catching up into a file or a pipe
		progress = app.NewProgress(env.Stderr, "fold-watch")
	}
	out := consumer.NewRecords(consumer.RecordsConfig{Out: ds, Consumer: con, Log: cm.Log, Keep: keep, Limit: limit, CaughtUp: progress.Done})
	src := &watch.Source{
		Store: cm.Store, Types: types, Streams: streams, Order: order, Poll: c.Duration("poll"), Log: cm.Log,
		OnCorrupt: cm.Report.Corrupt, OnRewritten: out.Rewritten, Progress: progress.CatchUp("records"),
	}
	if c.Bool("follow") {
		err = src.Follow(stop, out.Cursors(), out.Batch)
	} else {
		err = src.CatchUp(stop, out.Cursors(), out.Batch)
	}
	if x, ok := ds.(*consumer.Exec); ok {
		_ = x.Close()
	}
	return finish(con, out.Delivered(), err, cm)
}

// finish closes the consumer as the run ended and turns that into the
// exit.
func finish(con *consumer.Consumer, n int64, err error, cm app.Common) error {
	clean, exit := app.RunExit(err)
	return app.EndRun(con, consumer.Result{Clean: clean, Records: n}, err, exit, cm.Report)
}
