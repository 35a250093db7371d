package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/fold-es/fold/lib/record"
)

// StartError is a handler that cannot be brought up: its command was not
// found or cannot be run, it exits without answering each time it is
// started, it does not answer its first request in time, or it answers it
// with something that is not a JSON object. A program makes it fatal once,
// before it reads any input, rather than failing every input line on it.
type StartError struct {
	Handler string // as in Error
	Reason  string // what went wrong, e.g. "command not found"
	Output  string // what the handler printed instead of an answer, truncated
	Hint    string // what to do about it
	Err     error  // the error of the first request
}

func (e *StartError) Error() string {
	msg := e.Handler + " cannot start: " + e.Reason
	if e.Output != "" {
		msg += ": " + fmt.Sprintf("%q", e.Output)
	}
	return msg
}

// Unwrap returns the error of the first request.
func (e *StartError) Unwrap() error { return e.Err }

// startTries is how many processes Start starts before it calls a handler
// that exits without answering dead: one more than the first, in case the
// first met something passing.
const startTries = 2

// Start starts the handler and checks that it answers probe, a request
// whose answer is dropped (AggregateProbe, ProjectionProbe or
// ProcessManagerProbe), with one JSON object. Programs call it before they
// read any input. It returns a *StartError for a handler that cannot work,
// or the context's error. The process stays up for the requests that
// follow; a one-shot handler is started again for the next one, as always.
// For an in-process jq handler, Start compiles the program and runs the
// probe through it.
func (p *Pool) Start(ctx context.Context, probe []byte) error {
	var err error
	for try := 1; try <= startTries; try++ {
		_, err = p.Call(ctx, probe)
		if err == nil || p.jq != nil || !errors.Is(err, ErrExited) || errors.As(err, new(*NotFoundError)) || exitStatus(err) == 126 {
			break
		}
	}
	return p.startError(err, probe)
}

// startError turns the error of a start's probe into a *StartError.
func (p *Pool) startError(err error, probe []byte) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrClosed):
		return err
	case errors.As(err, new(*NotFoundError)):
		return &StartError{Handler: p.name, Reason: "command not found", Err: err,
			Hint: "the command line is run with /bin/sh -c in the current directory: check the program's name and path"}
	case errors.As(err, new(*StartError)):
		return err // an in-process handler that failed to compile
	case !errors.As(err, &e):
		return &StartError{Handler: p.name, Reason: err.Error(), Err: err}
	}
	se := &StartError{Handler: p.name, Reason: e.Reason, Output: e.Output, Hint: e.Hint, Err: err}
	switch {
	case exitStatus(err) == 126:
		se.Reason = "it cannot be run (exit status 126: not executable, or permission denied)"
		se.Hint = "make it executable (chmod +x), or name its interpreter, e.g. --handler 'sh FILE'"
	case errors.Is(err, ErrExited):
		se.Reason = fmt.Sprintf("%s, each of the %d times it was started", e.Reason, startTries)
		if p.jq == nil {
			se.Hint = "a handler reads requests on stdin and answers each with one line; try it by hand: echo " +
				shellQuote(string(probe)) + " | sh -c " + shellQuote(p.cfg.Command)
		}
	case errors.Is(err, ErrFailed):
		se.Reason = "its first request " + e.Reason
	case errors.Is(err, ErrBadAnswer):
		se.Reason = "its first answer is not one JSON object: " + e.Reason
		if se.Hint == "" && p.jq == nil {
			se.Hint = "a handler's stdout carries its answers only: print anything else to stderr"
		}
	}
	return se
}

// exitStatus is the exit status of the handler that failed err, or 0.
func exitStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.status
	}
	return 0
}

// shellQuote quotes s for /bin/sh, for a command line a user can paste.
func shellQuote(s string) string {
	out := []byte{'\''}
	for i := range len(s) {
		if s[i] == '\'' {
			out = append(out, `'\''`...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(append(out, '\''))
}

// The probes of Pool.Start: requests that ask a handler for nothing but its
// initial state, whose answers are dropped. An aggregate's names no
// instance (instance_id is empty).

// AggregateProbe is an apply of no events on a null state.
func AggregateProbe(aggType string) []byte {
	return probe(ApplyRequest{Op: OpApply, AggregateType: aggType, State: record.Null, Events: []record.RawMessage{}})
}

// ProjectionProbe is a project of no records on a null state.
func ProjectionProbe(name string) []byte {
	return probe(ProjectRequest{Op: OpProject, Name: name, State: record.Null, Records: []record.RawMessage{}})
}

// ProcessManagerProbe is a react to no records on a null state.
func ProcessManagerProbe(name string) []byte {
	return probe(ReactRequest{Op: OpReact, Name: name, State: record.Null, Records: []record.RawMessage{}})
}

func probe(req any) []byte {
	b, err := record.Marshal(req)
	if err != nil {
		panic(err) // strings and constants only: it cannot fail
	}
	return b
}
