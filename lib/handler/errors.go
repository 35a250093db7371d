package handler

import (
	"errors"
	"fmt"
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
}

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
