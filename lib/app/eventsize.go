package app

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/record"
)

// MaxEventSizeFlag is --max-event-size, the one maximum event size, for
// the programs that write events (fold-exec, fold-pm --dispatch and retry)
// or read records from a pipe (fold-project and fold-pm --stdin). A pipe's
// two ends must agree: raise it on both.
func MaxEventSizeFlag() cli.Flag {
	return &cli.StringFlag{Name: "max-event-size", Value: record.FormatSize(record.DefaultMaxEvent),
		Usage: fmt.Sprintf("the longest event line written or read, `SIZE` in bytes, KiB or MiB (at most %s); input lines may be %s longer. Raise it alike on both ends of a pipe",
			record.FormatSize(record.MaxEventCeiling), record.FormatSize(record.RecordOverhead))}
}

// maxEventSize reads --max-event-size where the command has it; the
// default elsewhere.
func maxEventSize(c *cli.Context) (int, error) {
	if !slices.Contains(c.FlagNames(), "max-event-size") {
		return record.DefaultMaxEvent, nil
	}
	v := c.String("max-event-size")
	n, err := record.ParseSize(v)
	switch {
	case err != nil:
		return 0, UsageError("--max-event-size: " + err.Error())
	case n < 1<<10 || n > record.MaxEventCeiling:
		return 0, &ExitError{Code: ExitUsage,
			Message: fmt.Sprintf("--max-event-size %s is not between 1KiB and %s", record.Quote(v), record.FormatSize(record.MaxEventCeiling)),
			Hint:    "events larger than that belong in files they name"}
	}
	return n, nil
}
