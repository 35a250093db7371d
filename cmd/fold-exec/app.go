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
     fold-exec --type counter --handler 'jq --unbuffered -c -f counter.jq'

   echo '{"instance_id":"a","command":{"type":"Increment"}}' |
     fold-exec --type counter --handler jq:examples/counter/counter.jq

   fold-pm --name shipping --subscribe order --handler ./shipping.sh |
     fold-exec --handler order='jq --unbuffered -c -f order.jq' --rejects dead.jsonl

   fold-exec state --handler counter='./counter' counter alpha

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
		UsageText:                 "fold-exec [options] < envelopes.jsonl\nfold-exec state [options] TYPE ID\nfold-exec streams [--type T]",
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
				Name:   "streams",
				Usage:  "list streams as {\"aggregate_type\",\"instance_id\"} lines, sorted",
				Flags:  append(app.CommonFlags(), &cli.StringSliceFlag{Name: "type", Usage: "only streams of this type (repeatable)"}),
				Action: func(c *cli.Context) error { return runStreams(c, env) },
			},
		},
	}
}
