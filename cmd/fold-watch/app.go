package main

import (
	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
)

var description = `Prints event records, one JSON object per line:

   {"aggregate_type":"counter","instance_id":"alpha","version":3,"offset":312,
    "hash":"9f0c…","event":{"type":"Incremented","data":null,"ts":1764446400}}

for every stream, the streams of --type T, or the streams named by
--stream T/ID. Streams are read one after the other in discovery order
(the order they were created in, as "fold-exec streams" and --list show
them); within a stream, records come in version order. Without --follow
it exits once everything is printed; with --follow it stays and prints
records as they are appended, including in streams created later.

With --checkpoint NAME it is a durable consumer (consumers/NAME/): the
next run starts after what was confirmed. Delivery is at least once:
writing into a pipe is not a confirmation, so a run that printed records
leaves them pending, and only --commit, run once the downstream
succeeded, moves the checkpoint past them; a run that finds an
unconfirmed delivery delivers it again. --exec CMD needs no second step:
it runs CMD for each batch and its exit status 0 confirms the batch.
--at-most-once moves the checkpoint as records are written, unconfirmed.
See docs/delivery.md.

EXAMPLES:
   fold-watch | jq -c 'select(.event.type == "WasReset")'

   fold-watch --follow --type counter |
     fold-project --stdin --name totals --handler 'jq --unbuffered -c -f examples/counter/total_counter.jq'

   fold-watch --checkpoint mirror --type counter > mirror.jsonl &&
     fold-watch --checkpoint mirror --commit

   fold-watch --checkpoint mailer --exec 'jq -r .event.type >> mailed.txt'

` + app.ExitStatusHelp(
	"a corrupt log line was reported (the rest printed), a --stream does not exist,\n       --exec CMD failed, or --commit found nothing to confirm",
	"--checkpoint NAME is held by another run, or --exec CMD exited 75: run again later")

func newApp(env app.Env) *cli.App {
	flags := append(app.CommonFlags(),
		&cli.StringSliceFlag{Name: "type", Usage: "print the streams of aggregate type `T` (repeatable)"},
		&cli.StringSliceFlag{Name: "stream", Usage: "print the stream `T/ID` (repeatable; it must exist)"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "after catching up, keep printing records as they are appended"},
		&cli.DurationFlag{Name: "poll", Usage: "with --follow, look for changes every `DUR` instead of using file notifications"},
		&cli.StringFlag{Name: "checkpoint", Usage: "durable consumer `NAME`: resume after what was confirmed (consumers/NAME/)"},
		&cli.StringFlag{Name: "order", Value: "stream", Usage: "stream (stream after stream), or store: in the order records were appended across streams (NATS JetStream stores only)"},
		&cli.BoolFlag{Name: "list", Usage: "list the streams as {\"aggregate_type\",\"instance_id\"} lines, like fold-exec streams"},
	)
	flags = append(flags, app.SelectFlags()...)
	flags = append(flags, app.DeliveryFlags()...)
	flags = append(flags, app.LockFlags("wait this long for a --checkpoint another run holds")...)
	return &cli.App{
		Usage:                     "print the event records of a root, catching up then optionally following",
		UsageText:                 "fold-watch [--type T]... [--stream T/ID]... [--follow] [--checkpoint NAME [--exec CMD]]\nfold-watch --checkpoint NAME --commit\nfold-watch --list [--type T]...\nfold-watch consumers",
		Description:               description,
		Flags:                     flags,
		DisableSliceFlagSeparator: true,
		Action:                    func(c *cli.Context) error { return runWatch(c, env) },
		Commands: []*cli.Command{{
			Name:  "consumers",
			Usage: "list every consumer of the root (projections, process managers, --checkpoint names): records behind, pending, dead letters, last run; a table on a terminal, JSON lines otherwise",
			Flags: app.CommonFlags(),
			Action: func(c *cli.Context) error {
				cm, err := app.ParseCommonNoArgs(c, env)
				if err != nil {
					return err
				}
				return app.ListConsumers(c.Context, env.Stdout, cm)
			},
		}},
	}
}
