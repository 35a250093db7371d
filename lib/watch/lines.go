package watch

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Feed delivers records in batches from cursors on: Source.CatchUp and
// Source.Follow are Feeds, and so is what Lines returns.
type Feed func(ctx context.Context, cursors map[string]record.Cursor, fn func(Batch) error) error

// BadLine is an input line that is not an event record.
type BadLine struct {
	Line  int64  // 1-based
	Input []byte // the line as read
	Err   error
}

// lineItem is one input line on its way from the reading goroutine.
type lineItem struct {
	rec   record.Record
	bad   *BadLine
	fatal error
	size  int // the line's length, taken from the budget
}

// Lines returns a Feed of the event records read from in, one JSON object
// per line, as fold-exec and fold-watch print them: what fold-pm --stdin
// and fold-project --stdin read. Blank lines are skipped; a line that is
// not a record, names a stream that cannot exist, or is longer than
// maxLine (record.MaxLine; it is skipped unread) is passed to bad. A
// batch holds the records waiting when the previous one was done, at most
// max (0: DefaultMaxBatch) and about DefaultMaxBatchBytes of events (a
// longer one is a batch of its own), and is Idle when no more input was
// waiting, so a slow trickle is reacted to promptly and a flood in large
// batches. The cursors are not used: records they cover are the
// consumer's to skip, since a pipe carries whatever its writer chose. The
// feed ends with the input, or with ctx (a read in progress is then
// abandoned).
func Lines(in io.Reader, max, maxLine int, bad func(BadLine)) Feed {
	if max <= 0 {
		max = DefaultMaxBatch
	}
	return func(ctx context.Context, _ map[string]record.Cursor, fn func(Batch) error) error {
		items := make(chan lineItem, max)
		quit := make(chan struct{})
		defer close(quit)
		// What is read ahead is bounded in bytes too: two batches' worth.
		budget := record.NewBudget(2 * DefaultMaxBatchBytes)
		go readLines(in, maxLine, budget, items, quit)
		recs := make([]record.Record, 0, max)
		for {
			var it lineItem
			var ok bool
			select {
			case <-ctx.Done():
				return ctx.Err()
			case it, ok = <-items:
				if !ok {
					return nil
				}
			}
			recs = recs[:0]
			size := 0
			for ok {
				switch {
				case it.fatal != nil:
					return it.fatal
				case it.bad != nil:
					if bad != nil {
						bad(*it.bad)
					}
				default:
					recs = append(recs, it.rec)
					size += len(it.rec.Event)
				}
				budget.Give(it.size)
				if len(recs) == max || size >= DefaultMaxBatchBytes {
					break
				}
				select {
				case it, ok = <-items:
					if !ok {
						items = nil // ended: deliver what is here, then stop
					}
				default:
					ok = false
				}
			}
			if len(recs) > 0 {
				if err := fn(Batch{Records: recs, Idle: len(items) == 0}); err != nil {
					return err
				}
			}
			if items == nil {
				return nil
			}
		}
	}
}

// readLines parses in's lines until it ends, or until quit, taking each
// line's length from budget before it is sent.
func readLines(in io.Reader, maxLine int, budget *record.Budget, items chan<- lineItem, quit <-chan struct{}) {
	defer close(items)
	send := func(it lineItem) bool {
		select {
		case items <- it:
			return true
		case <-quit:
			return false
		}
	}
	err := record.ScanLines(in, maxLine, func(n int64, line []byte, err error) bool {
		if !budget.Take(len(line), quit) {
			return false
		}
		var rec record.Record
		if err == nil {
			rec, err = record.ParseRecord(line) // decoding copies what the record keeps
		}
		if err == nil {
			err = store.CheckStream(rec.Stream())
		}
		if err == nil && rec.Offset <= 0 {
			err = fmt.Errorf("record has no offset (%d is not positive): a cursor cannot be kept for it", rec.Offset)
		}
		if err != nil {
			return send(lineItem{bad: &BadLine{Line: n, Input: bytes.Clone(line), Err: err}, size: len(line)})
		}
		return send(lineItem{rec: rec, size: len(line)})
	})
	if err != nil {
		send(lineItem{fatal: fmt.Errorf("read input: %w", err)})
	}
}
