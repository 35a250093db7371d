package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/record"
)

// maxLine is the longest input line accepted.
const maxLine = 64 << 20

// item is one input line: a record, or why it is not one.
type item struct {
	line  int64
	input []byte
	rec   record.Record
	err   error // the line is not a record
	fatal error // reading stdin failed
}

// readRecords parses stdin's lines in a goroutine of its own, so the
// handler works on one batch while the next is read.
func readRecords(in io.Reader, items chan<- item) {
	defer close(items)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var n int64
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 || isBlank(sc.Bytes()) {
			continue
		}
		line := append([]byte(nil), sc.Bytes()...)
		rec, err := record.ParseRecord(line)
		items <- item{line: n, input: line, rec: rec, err: err}
	}
	if err := sc.Err(); err != nil {
		items <- item{line: n + 1, fatal: fmt.Errorf("read input: line %d: %w", n+1, err)}
	}
}

// fromStdin applies the records read from stdin (those of the subscribed
// types that the cursors do not cover) in batches of what is waiting,
// up to max records.
func (r *runner) fromStdin(stop context.Context, in io.Reader, types []string, max int) error {
	items := make(chan item, max)
	go readRecords(in, items)
	recs := make([]record.Record, 0, max)
	for {
		var it item
		var ok bool
		select {
		case <-stop.Done():
			return stop.Err()
		case it, ok = <-items:
		}
		recs = recs[:0]
		eof := !ok
	take:
		for ok {
			if it.fatal != nil {
				return it.fatal
			}
			switch {
			case it.err != nil:
				r.cm.Report.Report(app.Failure{Line: it.line, Kind: "invalid_input", Message: it.err.Error(), Input: it.input, Counts: true})
			case len(types) == 0 || slices.Contains(types, it.rec.AggregateType):
				recs = append(recs, it.rec)
			}
			if len(recs) == max {
				break
			}
			select {
			case it, ok = <-items:
				eof = !ok
			default:
				break take
			}
		}
		if err := r.apply(recs); err != nil {
			return err
		}
		if eof {
			return nil
		}
		if len(items) == 0 {
			if err := r.idle(); err != nil {
				return err
			}
		}
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
