package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"

	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/store"
)

// RunExit tells a clean end (its output went out whole) from the rest, and
// turns what ended the run into the program's exit.
func TestRunExit(t *testing.T) {
	noStream := fmt.Errorf("stream \"counter/zz\": %w", store.ErrNoStream)
	own := &ExitError{Code: ExitFailed, Message: "mine"}
	for _, tc := range []struct {
		name  string
		err   error
		clean bool
		exit  *ExitError // nil: none
	}{
		{"the input ended", nil, true, nil},
		{"a signal", fmt.Errorf("follow: %w", context.Canceled), true, nil},
		{"--limit reached", consumer.ErrLimit, true, nil},
		{"the reader went away", fmt.Errorf("write: %w", syscall.EPIPE), false, nil},
		{"--exec asked for later", &consumer.ExecError{Command: "x", Lines: 1, Status: 75, Err: errors.New("exit status 75")}, false,
			&ExitError{Code: ExitRetryable, Message: `--exec "x": exit status 75: a batch of 1 line(s) was not confirmed`, Hint: "what was not confirmed is delivered again by the next run"}},
		{"a --stream not there", noStream, false,
			&ExitError{Code: ExitFailed, Message: noStream.Error(), Hint: "list the streams with fold-watch --list"}},
		{"the program's own exit", fmt.Errorf("wrapped: %w", own), false, own},
		{"anything else is fatal", errors.New("read: input/output error"), false, &ExitError{Code: ExitFatal, Message: "read: input/output error"}},
	} {
		clean, exit := RunExit(tc.err)
		e, _ := errors.AsType[*ExitError](exit)
		if clean != tc.clean || (exit == nil) != (tc.exit == nil) || e != nil && *e != *tc.exit {
			t.Errorf("%s: clean %v, exit %#v; want %v, %+v", tc.name, clean, exit, tc.clean, tc.exit)
		}
	}
}

// EndRun without a consumer: the run's exit first, else the status of
// what was reported.
func TestEndRun(t *testing.T) {
	report := NewReporter("prog", false, io.Discard, slog.New(slog.DiscardHandler))
	if err := EndRun(nil, consumer.Result{Clean: true}, nil, nil, report); err != nil {
		t.Errorf("nothing reported: %v", err)
	}
	report.Report(Failure{Retryable: true, Counts: true})
	if e, ok := errors.AsType[*ExitError](EndRun(nil, consumer.Result{Clean: true}, nil, nil, report)); !ok || e.Code != ExitRetryable || e.Message != "" {
		t.Errorf("a retryable failure reported: %+v, want a bare 75", e)
	}
	exit := Fatal(errors.New("boom"))
	if err := EndRun(nil, consumer.Result{}, errors.New("boom"), exit, report); err != exit {
		t.Errorf("the run's exit: %v, want %v", err, exit)
	}
}
