package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/watch"
)

var description = `Catches the projection NAME up: reads the records of the subscribed
aggregate types that came after its checkpoint (from the root, or from
stdin with --stdin), sends them in batches to the handler
({"op":"project","name","state","records":[…]} → {"state":…}), saves
the state and cursors in projections/NAME/checkpoint.json, and prints the
state as one JSON line.

With --follow it keeps going, printing the state once caught up and again
after each batch of new records that changed it. A stream that no longer
matches the checkpoint's cursor (rewritten, cut short, removed) is
reported and the projection is rebuilt from scratch. One run per NAME at
a time: a second one waits --lock-timeout, then exits 75.

EXAMPLES:
   fold-project --name total-counter --subscribe counter \
     --handler 'jq --unbuffered -c -f examples/counter/total_counter.jq'

   fold-project --name total-counter --subscribe counter \
     --handler jq:examples/counter/total_counter.jq

   fold-watch --follow --type order |
     fold-project --stdin --follow --name totals --handler bin/totals-go

   fold-project --show --name total-counter

` + app.ExitStatusHelp(
	"the handler failed on a batch (not applied), an input line was not a record,\n       a corrupt log line was skipped, or --show found no checkpoint",
	"another run of NAME holds the lock: run again later")

func newApp(env app.Env) *cli.App {
	flags := append(app.CommonFlags(),
		&cli.StringFlag{Name: "name", Usage: "the projection's `NAME` (projections/NAME/checkpoint.json)"},
		&cli.StringSliceFlag{Name: "subscribe", Usage: "aggregate types `T1,T2` to project (repeatable; default: all)"},
		&cli.StringFlag{Name: "handler", Usage: "the projection handler's command line `CMD` (run with /bin/sh -c), or jq:FILE, a jq program run in-process"},
		&cli.DurationFlag{Name: "handler-timeout", Value: 30 * time.Second, Usage: "fail a batch the handler has not answered in this long"},
		&cli.BoolFlag{Name: "stdin", Usage: "read event records from stdin (e.g. from fold-watch) instead of the root"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep going, printing the state after each batch that changed it"},
		&cli.DurationFlag{Name: "poll", Usage: "with --follow, look for changes every `DUR` instead of using file notifications"},
		app.RebuildFlagDef("drop the checkpoint and replay everything"),
		&cli.BoolFlag{Name: "dry-run", Usage: "show the state a run would print, saving nothing"},
		&cli.BoolFlag{Name: "show", Usage: "print the saved state and exit (needs only --name)"},
		&cli.IntFlag{Name: "batch", Value: watch.DefaultMaxBatch, Usage: "records per handler request, at most"},
		app.MaxEventSizeFlag(),
	)
	flags = append(flags, app.LockFlags("wait this long for a run of the same name to end")...)
	return &cli.App{
		Usage:                     "fold event records into a read model with a projection handler",
		UsageText:                 "fold-project --name NAME [--subscribe T1,T2] --handler CMD [--follow] [--rebuild] [--stdin]\nfold-project --show --name NAME",
		Description:               description,
		Flags:                     flags,
		DisableSliceFlagSeparator: true,
		Action:                    func(c *cli.Context) error { return runProject(c, env) },
	}
}
