package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unicode/utf8"
)

// Sentinels for the conditions callers branch on; test with errors.Is.
var (
	// ErrTimeout: the handler did not answer within Config.Timeout.
	ErrTimeout = errors.New("handler timed out")
	// ErrExited: the handler exited without answering a request it read.
	ErrExited = errors.New("handler exited")
	// ErrBadAnswer: the handler answered with something that is not one JSON
	// object of the right shape.
	ErrBadAnswer = errors.New("bad handler answer")
	// ErrFailed: an in-process handler's program stopped with an error
	// (a jq error) instead of answering.
	ErrFailed = errors.New("handler failed")
	// ErrBadRequest: the request was not one line; nothing was sent.
	ErrBadRequest = errors.New("bad handler request")
	// ErrClosed: the Process or Pool was closed.
	ErrClosed = errors.New("handler closed")
)

// maxQuoted bounds how much of a handler's output an error quotes: enough to
// recognise a stray debug print, not a megabyte of state.
const maxQuoted = 200

// Error is a failed request. Its message names the handler, says what went
// wrong and quotes what the handler printed, if anything.
type Error struct {
	Handler string // the handler as messages name it, e.g. `handler "counter"`
	Reason  string // what went wrong, e.g. "exited without answering (exit status 3)"
	Output  string // what the handler printed instead of an answer, truncated
	Err     error  // one of the sentinels, or the underlying error
	Hint    string // what may fix it, when something likely does; not part of Error()
	status  int    // the exit status, when it exited (-1: killed by a signal)
}

// HintUnbuffered is the hint for a handler that does not answer its first
// request: its answers may sit in a buffer of its own.
const HintUnbuffered = "a handler must flush each answer line: jq needs --unbuffered, python -u; " +
	"other programs can run under stdbuf -oL"

func (e *Error) Error() string {
	h := e.Handler
	if h == "" {
		h = "handler" // an answer checked without knowing who gave it
	}
	msg := h + " " + e.Reason
	if e.Output != "" {
		msg += ": " + fmt.Sprintf("%q", e.Output)
	}
	return msg
}

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }

// NotFoundError is returned when the handler's command could not be found:
// /bin/sh exited with status 127 before answering anything.
type NotFoundError struct {
	Handler string // as in Error
	Command string // the command line given to /bin/sh -c
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: command not found: %q", e.Handler, e.Command)
}

// Unwrap makes a missing command also an ErrExited, which is what happened.
func (e *NotFoundError) Unwrap() error { return ErrExited }

// quoteOutput truncates what a handler printed for an error message.
func quoteOutput(b []byte) string {
	if len(b) <= maxQuoted {
		return string(b)
	}
	// Cut on a rune boundary so the quote shows text, not stray bytes.
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

var errNotObject = errors.New("not a JSON object")

// clip copies enough of what a handler printed for an error to quote it.
func clip(b []byte) []byte {
	return append([]byte(nil), b[:min(len(b), maxQuoted+1)]...)
}

// isExit reports whether err means the handler went away: its stdout ended
// or its stdin was closed under our write.
func isExit(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

// notCalled is the error for a request whose context ended before it was
// written.
func notCalled(name string, err error) error {
	return &Error{Handler: name, Reason: "was not called: request cancelled", Err: err}
}

// cancelled is the error for a request whose context ended while it waited
// for its answer.
func cancelled(name string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Handler: name, Reason: "did not answer before the request's deadline", Err: err}
	}
	return &Error{Handler: name, Reason: "did not answer before the request was cancelled", Err: err}
}

func closedError(name, reason string) error {
	return &Error{Handler: name, Reason: reason, Err: ErrClosed}
}

// failure turns a read error other than an exit into the error of the
// request that was due. fromCtx says whether its deadline was the
// context's rather than Config.Timeout, first whether the request was the
// process's first.
func (p *Process) failure(err error, out []byte, fromCtx, first bool) error {
	e := &Error{Handler: p.name, Err: err}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && fromCtx:
		e.Reason, e.Err = "did not answer before the request's deadline", context.DeadlineExceeded
	case errors.Is(err, os.ErrDeadlineExceeded) && first:
		// A handler that never answers its first request most often
		// answers into a buffer that is flushed only when it exits.
		e.Reason = fmt.Sprintf("did not answer its first request within %s (%s to start, %s to answer)",
			p.cfg.startup()+p.cfg.Timeout, p.cfg.startup(), p.cfg.Timeout)
		e.Err, e.Hint = ErrTimeout, HintUnbuffered
	case errors.Is(err, os.ErrDeadlineExceeded):
		e.Reason, e.Err = fmt.Sprintf("did not answer within %s", p.cfg.Timeout), ErrTimeout
	case errors.Is(err, errLineTooLong):
		e.Reason = fmt.Sprintf("answered with a line longer than %d MiB", maxLine>>20)
		e.Output, e.Err = quoteOutput(out), ErrBadAnswer
	case errors.Is(err, errNotObject):
		e.Reason, e.Err = "answered with something that is not a JSON object", ErrBadAnswer
		if len(out) == 0 {
			e.Reason = "answered with an empty line"
		}
		e.Output = quoteOutput(out)
	default:
		e.Reason = "could not be talked to: " + err.Error()
	}
	return e
}

// exitFailure is the error for a handler that exited without answering.
// The process must have been reaped.
func (p *Process) exitFailure(rp *running, answeredBefore bool, out []byte) error {
	if !answeredBefore && len(out) == 0 && rp.exitCode() == 127 {
		return &NotFoundError{Handler: p.name, Command: p.cfg.Command}
	}
	return &Error{
		Handler: p.name,
		Reason:  fmt.Sprintf("exited without answering (%s)", rp.status()),
		Output:  quoteOutput(out),
		Err:     ErrExited,
		status:  rp.exitCode(),
	}
}
