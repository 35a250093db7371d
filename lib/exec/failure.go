// Package exec runs commands against aggregates: the command bus of
// fold-exec and fold-pm --dispatch. Each active instance has an actor that
// owns its cached state and open log, takes the instance's writer lock,
// brings the state up to date, asks the aggregate's handler to decide,
// appends the events and makes them durable before anyone sees them.
package exec

import (
	"errors"
	"fmt"
)

// Kind classifies a failed input line, as error records name it.
type Kind string

// The kinds of failure the SPEC names.
const (
	KindInvalid       Kind = "invalid_input"
	KindRejected      Kind = "rejected"
	KindUnknownType   Kind = "unknown_type"
	KindConflict      Kind = "conflict"
	KindDuplicate     Kind = "duplicate"
	KindHandlerFailed Kind = "handler_failed"
	KindLockTimeout   Kind = "lock_timeout"
	KindCorrupt       Kind = "corrupt_stream"
	KindIO            Kind = "io"
)

// Retryable reports whether trying the same input again later may succeed.
func (k Kind) Retryable() bool { return k == KindLockTimeout }

// Fatal reports whether the run cannot go on: the root is unusable.
func (k Kind) Fatal() bool { return k == KindIO }

// Failure is why one command or injected event was not applied.
type Failure struct {
	Kind Kind
	Err  error
}

func (f *Failure) Error() string { return f.Err.Error() }

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

func fail(k Kind, format string, args ...any) *Failure {
	return &Failure{Kind: k, Err: fmt.Errorf(format, args...)}
}

// AsFailure returns err as a *Failure, classifying unknown errors as kind.
func AsFailure(err error, kind Kind) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Kind: kind, Err: err}
}
