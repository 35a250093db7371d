package app

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// Reporter reports failed input lines on stderr, as text
// ("prog: error: line 7: …") or as JSON error records, and keeps the counts
// the exit status is computed from. It is safe for concurrent use.
type Reporter struct {
	prog string
	json bool
	w    io.Writer
	log  *slog.Logger // notes: what is reported but is not a failure

	mu        sync.Mutex
	failed    int // non-retryable failures
	retryable int
	fatal     bool
}

// NewReporter returns a reporter writing to w; in text form, what is not
// a failure (a duplicate) is a note on log, at info level.
func NewReporter(prog string, asJSON bool, w io.Writer, log *slog.Logger) *Reporter {
	return &Reporter{prog: prog, json: asJSON, w: w, log: log}
}

// Failure is one failed input line.
type Failure struct {
	Line      int64  // 1-based input line number; 0 when not from input
	File      string // the input file the line is in; "" for stdin
	Kind      string // error record kind
	Message   string
	Input     []byte // the input line
	Retryable bool   // counts towards exit 75, not 1
	Counts    bool   // towards the exit status: false for a duplicate, or a line kept in --rejects
	Fatal     bool
	// Note: not a failure at all (a duplicate command, an event present):
	// in text form a note at info level, not an error line.
	Note bool
}

// Report prints one failure and counts it.
func (r *Reporter) Report(f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case f.Fatal:
		r.fatal = true
	case !f.Counts:
	case f.Retryable:
		r.retryable++
	default:
		r.failed++
	}
	if !r.json && f.Note {
		// Not an error: a command applied before, an event present.
		r.log.Info(f.where() + f.Message + ": skipped")
		return
	}
	if r.json {
		b, err := record.Marshal(record.ErrorRecord{Kind: f.Kind, Message: f.Message, Line: f.Line, File: f.File, Input: record.InputValue(f.Input)})
		if err == nil {
			r.w.Write(append(b, '\n'))
			return
		}
	}
	if f.Line > 0 {
		fmt.Fprintf(r.w, "%s: error: %s%s\n", r.prog, f.where(), f.Message)
	} else {
		fmt.Fprintf(r.w, "%s: error: %s\n", r.prog, f.Message)
	}
}

// Status is the exit status for what was reported.
func (r *Reporter) Status() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.fatal:
		return ExitFatal
	case r.failed > 0:
		return ExitFailed
	case r.retryable > 0:
		return ExitRetryable
	}
	return ExitOK
}

// BadLine reports an input line that is not an event record, by number;
// the run goes on without it (fold-project and fold-pm --stdin).
func (r *Reporter) BadLine(b watch.BadLine) {
	r.Report(Failure{Line: b.Line, Kind: string(exec.KindInvalid), Message: b.Err.Error(), Input: b.Input, Counts: true})
}

// Corrupt reports a log line that is not an event; the reader skips it.
// It fits watch.Source's OnCorrupt.
func (r *Reporter) Corrupt(e *eventlog.CorruptError) error {
	r.Report(Failure{Kind: string(exec.KindCorrupt), Message: e.Error() + " (skipped)", Counts: true})
	return nil
}

// where names the line a failure is about, "line 7: " on stdin and
// "cmds.jsonl:7: " in a named file, as compilers and jq do.
func (f Failure) where() string {
	switch {
	case f.Line <= 0:
		return ""
	case f.File != "":
		return fmt.Sprintf("%s:%d: ", f.File, f.Line)
	}
	return fmt.Sprintf("line %d: ", f.Line)
}
