package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/exec"
)

var description = `Reads command envelopes, one JSON object per line, on stdin:

   {"aggregate_type":"counter","instance_id":"alpha","command":{"type":"Increment"}}

and runs each through the handler of its aggregate type. The events the
handler decides are appended to the instance's log and made durable, then
printed on stdout as event records, in input order. A command that fails is
reported on stderr with its line number; the others still run.

EXAMPLES:
   echo '{"instance_id":"a","command":{"type":"Increment"}}' |
     fold-exec --type counter --handler 'jq --unbuffered -c -f examples/counter/counter.jq'

   echo '{"instance_id":"a","command":{"type":"Increment"}}' |
     fold-exec --type counter --handler jq:examples/counter/counter.jq

   fold-pm --name fulfil --subscribe order,inventory --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq' |
     fold-exec --handler order='jq --unbuffered -c -f examples/saga/order.jq' \
       --handler inventory='sh examples/saga/inventory.sh' --rejects dead.jsonl

   fold-exec state --handler counter='sh examples/counter/counter.sh' counter alpha

` + app.ExitStatusHelpExec

func handlerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "handler", Usage: "`TYPE=CMD` routes a type to a handler command line (repeatable); a bare CMD serves --type; CMD jq:FILE runs the jq program FILE in-process"},
		&cli.StringFlag{Name: "type", Usage: "aggregate type for lines that give none, and for a bare --handler"},
		&cli.DurationFlag{Name: "handler-timeout", Value: 30 * time.Second, Usage: "fail a request the handler has not answered in this long"},
	}
}

func newApp(env app.Env) *cli.App {
	flags := append(app.CommonFlags(), handlerFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "id", Usage: "instance id for lines that give none"},
		&cli.BoolFlag{Name: "bare", Usage: "each input line is the command itself (needs --type and --id)"},
		&cli.BoolFlag{Name: "inject", Usage: "input lines are events or records to append as they are, without a handler"},
		&cli.DurationFlag{Name: "lock-timeout", Value: exec.DefaultLockTimeout, Usage: "wait this long for an instance locked by another process"},
		&cli.StringFlag{Name: "rejects", Usage: "append failed input lines to `FILE` as dead letters {\"envelope\",\"error\",\"ts\"}"},
		app.MaxEventSizeFlag(),
	)
	flags = append(flags, app.EngineFlags()...)
	return &cli.App{
		Usage:                     "run commands through aggregate handlers and append their events",
		UsageText:                 "fold-exec [options] < envelopes.jsonl\nfold-exec state [options] TYPE ID\nfold-exec streams [--type T]\nfold-exec check [--repair]",
		Description:               description,
		Flags:                     flags,
		DisableSliceFlagSeparator: true,
		Action:                    func(c *cli.Context) error { return runExec(c, env) },
		Commands: []*cli.Command{
			{
				Name:      "state",
				Usage:     "print an instance's state now, or as of a version",
				ArgsUsage: "TYPE ID",
				Flags: append(append(app.CommonFlags(), handlerFlags()...),
					&cli.StringFlag{Name: "at-version", Usage: "the state after `N` events (time travel; N from 1)"}),
				Action: func(c *cli.Context) error { return runState(c, env) },
			},
			{
				Name:  "check",
				Usage: "check every log, snapshot, registry entry and checkpoint of the root; report findings as JSON lines",
				Description: `Reads the whole root and prints one JSON line per finding, then a summary:

   {"kind":"torn_tail","level":"error","path":"fold-data/streams/counter/alpha/app.jsonl","offset":487,...}
   {"kind":"summary","root":"fold-data","streams":3,"events":9,...,"errors":1,...}

--repair cuts torn tails under the stream's writer lock, removes snapshots
that do not match their log, and registers unregistered streams.
The kinds of finding: docs/layout.md.

EXAMPLES:
   fold-exec check
   fold-exec check --repair | jq -c 'select(.repaired)'

EXIT STATUS:
   0   the root is sound (warnings aside), or --repair fixed every error
   1   errors are left: each is a line with "level":"error"
   2   usage error
   3   fatal: root unusable or I/O error`,
				Flags: append(app.CommonFlags(),
					&cli.BoolFlag{Name: "repair", Usage: "cut torn tails, remove snapshots that do not match their log, register unregistered streams"},
					&cli.DurationFlag{Name: "lock-timeout", Value: exec.DefaultLockTimeout, Usage: "wait this long for a stream's writer lock to repair it"},
					app.MaxEventSizeFlag()),
				Action: func(c *cli.Context) error { return runCheck(c, env) },
			},
			{
				Name:   "streams",
				Usage:  "list streams as {\"aggregate_type\",\"instance_id\"} lines, sorted",
				Flags:  append(app.CommonFlags(), &cli.StringSliceFlag{Name: "type", Usage: "only streams of this type (repeatable)"}),
				Action: func(c *cli.Context) error { return runStreams(c, env) },
			},
		},
	}
}
