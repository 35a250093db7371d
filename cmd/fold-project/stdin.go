package main

import (
	"context"
	"io"
	"slices"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// fromStdin applies the records read from stdin (those of the subscribed
// types; the projection skips what its cursors cover) in batches of what
// is waiting, up to max records; a line that is not a record is reported
// by number and skipped.
func (r *runner) fromStdin(stop context.Context, in io.Reader, types []string, max int) error {
	feed := watch.Lines(in, max, record.MaxLine(r.cm.MaxEvent), r.cm.Report.BadLine)
	var recs []record.Record
	return feed(stop, nil, func(b watch.Batch) error {
		recs = recs[:0]
		for _, rec := range b.Records {
			if len(types) == 0 || slices.Contains(types, rec.AggregateType) {
				recs = append(recs, rec)
			}
		}
		if err := r.apply(recs); err != nil {
			return err
		}
		if b.Idle {
			return r.idle()
		}
		return nil
	})
}
