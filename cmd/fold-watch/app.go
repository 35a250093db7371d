package main

import (
	"time"

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

With --checkpoint NAME it is a durable consumer: the next run with the
same name starts after the last record this one printed.

EXAMPLES:
   fold-watch | jq 'select(.event.type=="Placed")'

   fold-watch --follow --type order |
     fold-project --stdin --name totals --handler 'jq --unbuffered -c -f totals.jq'

   fold-watch --checkpoint mailer --type order | ./send-mail.sh

` + app.ExitStatusHelp(
	"a corrupt log line was reported (the rest printed), or a --stream does not exist",
	"--checkpoint NAME is held by another run: run again later")

func newApp(env app.Env) *cli.App {
	flags := append(app.CommonFlags(),
		&cli.StringSliceFlag{Name: "type", Usage: "print the streams of aggregate type `T` (repeatable)"},
		&cli.StringSliceFlag{Name: "stream", Usage: "print the stream `T/ID` (repeatable; it must exist)"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "after catching up, keep printing records as they are appended"},
		&cli.DurationFlag{Name: "poll", Usage: "with --follow, look for changes every `DUR` instead of using file notifications"},
		&cli.StringFlag{Name: "checkpoint", Usage: "durable consumer `NAME`: resume after the last record an earlier run printed (consumers/NAME/checkpoint.json)"},
		&cli.DurationFlag{Name: "lock-timeout", Value: 10 * time.Second, Usage: "wait this long for a --checkpoint another run holds"},
		&cli.StringFlag{Name: "order", Value: "stream", Usage: "stream (stream after stream), or store: in the order records were appended across streams (NATS JetStream stores only)"},
		&cli.BoolFlag{Name: "list", Usage: "list the streams as {\"aggregate_type\",\"instance_id\"} lines, like fold-exec streams"},
	)
	return &cli.App{
		Usage:                     "print the event records of a root, catching up then optionally following",
		UsageText:                 "fold-watch [--type T]... [--stream T/ID]... [--follow] [--checkpoint NAME]\nfold-watch --list [--type T]...",
		Description:               description,
		Flags:                     flags,
		DisableSliceFlagSeparator: true,
		Action:                    func(c *cli.Context) error { return runWatch(c, env) },
	}
}
