package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/record"
)

// ListConsumers prints every consumer of the root and how far behind it
// is (fold-watch consumers): an aligned table on a terminal, JSON lines
// otherwise, for jq.
func ListConsumers(ctx context.Context, w io.Writer, cm Common) error {
	if !cm.Root.Exists() {
		cm.WarnNoStore()
		return nil
	}
	list, err := consumer.List(ctx, cm.Root, cm.Store)
	if err != nil {
		return Fatal(err)
	}
	out := bufio.NewWriter(w)
	if IsTerminal(w) {
		err = table(out, list)
	} else {
		for _, s := range list {
			b, merr := record.Marshal(s)
			if merr != nil {
				return Fatal(merr)
			}
			if _, err = out.Write(append(b, '\n')); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = out.Flush()
	}
	return OutputError(err)
}

func table(w io.Writer, list []consumer.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tBEHIND\tPENDING\tDEAD LETTERS\tLAST RUN\tOUTCOME")
	for _, s := range list {
		last, outcome := "never", ""
		if s.LastRun != nil {
			last = time.Unix(s.LastRun.Ended, 0).Format("2006-01-02 15:04:05")
			outcome = s.LastRun.Outcome
		}
		switch {
		case s.Error != "":
			outcome = "error: " + s.Error
		case s.Stale != "":
			outcome += "; handler changed since the last rebuild: " + s.Stale
		case s.Rewritten > 0:
			outcome += fmt.Sprintf("; %d stream(s) rewritten: rebuild", s.Rewritten)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Kind, s.Name, s.Behind, s.Pending, s.DeadLetters, last, outcome)
	}
	return tw.Flush()
}
