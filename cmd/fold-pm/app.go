package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
)

var description = `Reacts to event records of the subscribed aggregate types, read from the
root (or from stdin with --stdin), one record at a time, through the process
manager's handler (the "react" op), and prints the commands it returns as
command envelopes on stdout, for fold-exec to run:

   {"aggregate_type":"inventory","instance_id":"widget","command":{…},
    "context":{"actor":"fold-pm:fulfil","correlation_id":"…"},
    "command_id":"fold-pm:fulfil/order/o-1/1/0"}

Each command_id comes from the process manager's name, the record's stream and
version, and the command's index (from 0), so a command sent again is dropped
by fold-exec: delivery is at least once, the effect exactly once. Printing is
not a confirmation: a run leaves what it printed pending, and --commit, run
once fold-exec ran the commands, moves the checkpoint
(process_managers/NAME/checkpoint.json) past them; until then every run
prints them again. --exec CMD confirms by itself (CMD's exit status 0, per
batch). With --dispatch the commands are run in-process, as fold-exec would,
the event records they append are printed instead, and the checkpoint moves
once they are durable; commands that fail go to
process_managers/NAME/dead_letters.jsonl. See docs/delivery.md.

EXAMPLES:
   fold-pm --name fulfil --subscribe order,inventory --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq' |
     fold-exec --handler order='jq --unbuffered -c -f examples/saga/order.jq' --handler inventory='sh examples/saga/inventory.sh' \
               --rejects fold-data/process_managers/fulfil/dead_letters.jsonl &&
     fold-pm --name fulfil --commit

   fold-pm --name fulfil --subscribe order,inventory --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq' \
     --dispatch --handler order='jq --unbuffered -c -f examples/saga/order.jq' \
     --handler inventory='sh examples/saga/inventory.sh' --handler shipping='sh examples/saga/shipping.sh'

   fold-pm --name fulfil --subscribe order,inventory --handler jq:examples/saga/fulfil.jq --dispatch \
     --handler order=jq:examples/saga/order.jq --handler inventory='sh examples/saga/inventory.sh'

   fold-pm dead-letters --name fulfil
   fold-pm retry --name fulfil --handler shipping='sh examples/saga/shipping.sh'

` + app.ExitStatusHelp(
	"a command was dead-lettered, the handler failed on a record, --exec CMD failed,\n       or --commit found nothing to confirm",
	"another run holds the process manager's lock, or --exec CMD exited 75: run again later")

// runFlags are the flags of a run that executes commands: --dispatch, and
// retry.
func runFlags(lockUsage string) []cli.Flag {
	flags := []cli.Flag{
		&cli.DurationFlag{Name: "handler-timeout", Value: 30 * time.Second, Usage: "fail a request the handler has not answered in this long"},
		app.MaxEventSizeFlag(),
	}
	flags = append(flags, app.LockFlags(lockUsage)...)
	return append(flags, app.EngineFlags()...)
}

func nameFlag() cli.Flag {
	return &cli.StringFlag{Name: "name", Usage: "the process manager's `NAME`: its files are in process_managers/NAME/"}
}

func newApp(env app.Env) *cli.App {
	flags := append(app.CommonFlags(), nameFlag(),
		&cli.StringSliceFlag{Name: "subscribe", Usage: "react to records of these aggregate `TYPES` (T1,T2; repeatable)"},
		&cli.StringSliceFlag{Name: "handler", Usage: "`CMD`: the process manager's handler; TYPE=CMD routes commands for TYPE (with --dispatch; repeatable); CMD jq:FILE runs the jq program FILE in-process"},
		&cli.BoolFlag{Name: "dispatch", Usage: "run the commands in-process through the TYPE=CMD handlers and print the records they append"},
		&cli.BoolFlag{Name: "stdin", Usage: "read event records from stdin (a pipe from fold-watch or fold-exec) instead of the root"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "after catching up, keep reacting to records as they are appended"},
		app.RebuildFlagDef("start from an empty state and no cursors: react to every record again (commands keep their ids)"),
		&cli.BoolFlag{Name: "dry-run", Usage: "print the commands a run would emit (even with --dispatch), running and saving nothing"},
		&cli.DurationFlag{Name: "poll", Usage: "with --follow, look for new records this often instead of using file notifications"},
		&cli.IntFlag{Name: "batch", Value: 1, Usage: "records per react request; above 1 the handler must tag each command with its record's index (\"record\": i), as the Go SDK does"},
	)
	flags = append(flags, runFlags("wait this long for the process manager, or an instance, locked by another run")...)
	flags = append(flags, app.DeliveryFlags()...)
	return &cli.App{
		Usage:                     "react to events with a process manager and emit or dispatch its commands",
		UsageText:                 "fold-pm --name N --subscribe T1,T2 --handler CMD [--dispatch --handler TYPE=CMD…] [--stdin] [--follow]\nfold-pm dead-letters --name N\nfold-pm retry --name N --handler TYPE=CMD…",
		Description:               description,
		Flags:                     flags,
		DisableSliceFlagSeparator: true,
		Action:                    func(c *cli.Context) error { return runPM(c, env) },
		Commands: []*cli.Command{
			{
				Name:   "dead-letters",
				Usage:  "print the process manager's dead letters, {\"envelope\",\"error\",\"ts\"} lines",
				Flags:  append(app.CommonFlags(), nameFlag()),
				Action: func(c *cli.Context) error { return runDeadLetters(c, env) },
			},
			{
				Name:  "retry",
				Usage: "send the dead letters again; keep only those that fail again",
				Flags: append(append(app.CommonFlags(), nameFlag(),
					&cli.StringSliceFlag{Name: "handler", Usage: "`TYPE=CMD` routes commands for TYPE to a handler (repeatable)"}),
					runFlags("wait this long for the process manager, or an instance, locked by another run")...),
				Action: func(c *cli.Context) error { return runRetry(c, env) },
			},
		},
	}
}
