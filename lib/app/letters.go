package app

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
)

// PrintDeadLetters prints a dead-letter file's letters as they are stored
// (fold-pm dead-letters); a line that is not a letter is reported by
// number and skipped.
func PrintDeadLetters(w io.Writer, letters pm.Letters, report *Reporter) error {
	all, _, err := letters.Read()
	if err != nil {
		return Fatal(err)
	}
	out := bufio.NewWriter(w)
	for _, lt := range all {
		if lt.Err != nil {
			report.Report(Failure{Line: lt.Line, Kind: string(exec.KindInvalid), Message: lt.Err.Error(), Input: lt.Raw, Counts: true})
			continue
		}
		if _, err := out.Write(append(lt.Raw, '\n')); err != nil {
			return OutputError(err)
		}
	}
	if err := out.Flush(); err != nil {
		return OutputError(err)
	}
	if s := report.Status(); s != ExitOK {
		return Exit(s)
	}
	return nil
}

// RetryDeadLetters sends the letters again through eng (fold-pm retry),
// printing the records their commands append and reporting those that
// fail again, which stay. The work in hand is finished whatever ctx says:
// the file is rewritten once, at the end.
func RetryDeadLetters(ctx context.Context, letters pm.Letters, eng *exec.Engine, w io.Writer, report *Reporter) error {
	out := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	kept, err := pm.Retry(ctx, letters, eng, nil, func(o pm.RetryOutcome) error {
		if f := o.Failure; f != nil {
			report.Report(Failure{Kind: string(f.Kind), Counts: true, Input: o.Letter.Letter.Envelope,
				Message: fmt.Sprintf("dead letter on line %d: %v", o.Letter.Line, f)})
		}
		for _, r := range o.Records {
			buf = append(record.AppendRecord(buf[:0], r), '\n')
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return OutputError(err)
	}
	if kept > 0 {
		return &ExitError{Code: ExitFailed, Hint: fmt.Sprintf("%d dead letter(s) remain in %s", kept, record.Quote(letters.Path))}
	}
	return nil
}
