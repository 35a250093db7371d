package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/itchyny/gojq"
)

// JQPrefix marks a handler that is a jq program run in-process, with no
// process: "jq:FILE", where FILE is a program that also works as
// `jq --unbuffered -c -f FILE`. No shell command starts with "jq:" (the
// shell would look for a program of that name), so the two cannot be
// confused; what follows the prefix is a path, not a command line.
const JQPrefix = "jq:"

// JQFile returns the program file of an in-process jq handler's command,
// and whether the command is one.
func JQFile(command string) (string, bool) {
	file, ok := strings.CutPrefix(strings.TrimSpace(command), JQPrefix)
	if !ok {
		return "", false
	}
	return file, true
}

// jqProgram is an in-process jq handler: the program is read and compiled,
// with gojq, on the first request, and each request runs through it in the
// caller's goroutine, on one of as many runners as the pool's size (so
// --jobs means concurrent runs), each with its own compilation (see
// newRunner).
type jqProgram struct {
	cfg     Config
	name    string
	file    string
	runners chan *runner // the free ones; a nil one is made when taken
	closed  atomic.Bool

	once    sync.Once
	err     error                  // a *StartError: the program cannot be read or compiled
	src     string                 // the program, once read
	environ []string               // what $ENV holds
	spare   atomic.Pointer[runner] // the runner load compiled, until taken
	ahead   aheads                 // arrays of requests to come, decoded ahead
}

func newJQ(cfg Config, name, file string, size int) *jqProgram {
	j := &jqProgram{cfg: cfg, name: name, file: file, runners: make(chan *runner, size)}
	for range size {
		j.runners <- nil
	}
	return j
}

// call runs req through the program and returns its answer, with the
// errors a co-process would give for the same misbehaviour.
func (j *jqProgram) call(ctx context.Context, req []byte) ([]byte, error) {
	if j.closed.Load() {
		return nil, closedError(j.name, "was already closed")
	}
	if err := j.load(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, notCalled(j.name, err)
	}
	in, err := decodeFrom(req, parallelBytes, &j.ahead)
	if err != nil {
		return nil, &Error{Handler: j.name, Reason: "was not called: the request is not one JSON value: " + err.Error(), Err: ErrBadRequest}
	}
	j.cfg.debug(debugRequest, req)
	var r *runner
	select {
	case r = <-j.runners:
	case <-ctx.Done():
		return nil, notCalled(j.name, ctx.Err())
	}
	if r == nil {
		if r = j.spare.Swap(nil); r == nil {
			if r, err = j.newRunner(); err != nil {
				j.runners <- nil
				return nil, &StartError{Handler: j.name, Reason: "its program does not compile: " + err.Error(), Err: err}
			}
		}
	}
	defer func() { j.runners <- r }()
	r.start(ctx, j.cfg.Timeout)
	out, err := j.run(r, in)
	stopped := r.finish()
	if out != nil {
		j.cfg.debug(debugAnswer, out)
	}
	if err != nil {
		return nil, j.failure(stopped, err, out)
	}
	return out, nil
}

// Why a run gave no answer, besides the program's own errors.
var (
	errNoOutput    = errors.New("no output")
	errManyOutputs = errors.New("more than one output")
	errPanic       = errors.New("gojq panicked")
)

// afterAnswerError is a program's error after its one output.
type afterAnswerError struct{ err error }

func (e *afterAnswerError) Error() string { return e.err.Error() }
func (e *afterAnswerError) Unwrap() error { return e.err }

// run runs the request through r's loop and returns the program's one
// output as JSON. out is set whenever there was an output, also with an
// error, for the debug copy and the error's quote. Whatever goes wrong
// ends the loop, which the next request starts again: the program stops
// at its first error, and after a second output it is not at its pause.
func (j *jqProgram) run(r *runner, in any) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: %v", errPanic, p)
		}
		if err != nil {
			r.iter = nil
		}
	}()
	if r.iter == nil {
		r.iter = r.code.RunWithContext(r, nil)
	}
	r.pending, r.hasPending = in, true
	v, ok := r.iter.Next()
	switch e, isErr := v.(error); {
	case !ok:
		return nil, errNoOutput // the loop never ends: this is a bug
	case isErr:
		return nil, e
	case r.paused:
		return nil, errNoOutput
	}
	out, err = gojq.Marshal(v)
	switch _, obj := v.(map[string]any); {
	case err != nil:
		return nil, err
	case !obj:
		return out, errNotObject
	case len(out) > maxLine:
		return out, errLineTooLong
	}
	// A second output would be a second answer: a co-process would send it
	// as the answer to the next request.
	w, ok := r.iter.Next()
	switch e := w.(type) {
	case *gojq.HaltError:
		// It answered, then halted: as a one-shot jq does.
		j.halted(e)
		r.iter = nil
	case error:
		return out, &afterAnswerError{e}
	default:
		if !ok || !r.paused {
			return out, errManyOutputs
		}
	}
	return out, nil
}

// failure turns what went wrong in a run into the error a co-process
// would have given: the same sentinels, the same reasons where there is
// an equivalent. stopped is why the run was stopped, if it was.
func (j *jqProgram) failure(stopped, err error, out []byte) error {
	e := &Error{Handler: j.name, Err: ErrBadAnswer, Output: quoteOutput(out)}
	var halt *gojq.HaltError
	switch {
	case stopped == errRunTimeout:
		return &Error{Handler: j.name, Reason: fmt.Sprintf("did not answer within %s", j.cfg.Timeout), Err: ErrTimeout}
	case stopped != nil:
		return cancelled(j.name, stopped)
	case errors.Is(err, errNotObject):
		e.Reason = "answered with something that is not a JSON object"
	case errors.Is(err, errLineTooLong):
		e.Reason = fmt.Sprintf("answered with a line longer than %d MiB", maxLine>>20)
	case errors.Is(err, errNoOutput):
		e.Reason = "gave no answer (the program had no output for the request)"
	case errors.Is(err, errManyOutputs):
		e.Reason = "answered more than once (the program had more than one output for the request)"
	case errors.As(err, new(*afterAnswerError)):
		e.Reason, e.Err, e.Output = "failed after its answer: jq: error: "+jqMessage(errors.Unwrap(err)), ErrFailed, ""
	case errors.Is(err, errPanic):
		e.Reason, e.Err = "failed: "+err.Error(), ErrFailed
	case errors.As(err, &halt):
		j.halted(halt)
		how := "halt"
		if halt.Value() != nil {
			how = "halt_error"
		}
		return &Error{Handler: j.name, Reason: fmt.Sprintf("exited without answering (%s, exit status %d)", how, halt.ExitCode()),
			Err: ErrExited, status: halt.ExitCode()}
	default:
		// The program's own error, as jq would print it on stderr.
		e.Reason, e.Err = "failed: jq: error: "+jqMessage(err), ErrFailed
	}
	return e
}

// jqMessage is the text of a jq error without gojq's "error: " in front of
// what the program passed to error.
func jqMessage(err error) string {
	if err == nil {
		return "null"
	}
	return strings.TrimPrefix(err.Error(), "error: ")
}

// halted writes what halt_error halted with to stderr, as jq does: a
// string as it is, anything else as JSON on a line.
func (j *jqProgram) halted(h *gojq.HaltError) {
	if j.cfg.Stderr == nil || h.Value() == nil {
		return
	}
	var b []byte
	if s, ok := h.Value().(string); ok {
		b = []byte(s)
	} else {
		b, _ = gojq.Marshal(h.Value()) // gojq's own values always encode
		b = append(b, '\n')
	}
	_, _ = j.cfg.Stderr.Write(b)
}

// debugFunc is jq's debug: ["DEBUG:",.] on a line of stderr.
func (j *jqProgram) debugFunc(v any, _ []any) any {
	if j.cfg.Stderr != nil {
		b, _ := gojq.Marshal([]any{"DEBUG:", v})
		_, _ = j.cfg.Stderr.Write(append(b, '\n'))
	}
	return v
}

// stderrFunc is jq's stderr: the input on stderr, a string as it is.
func (j *jqProgram) stderrFunc(v any, _ []any) any {
	if j.cfg.Stderr != nil {
		b, ok := v.(string)
		if !ok {
			enc, _ := gojq.Marshal(v)
			b = string(enc)
		}
		_, _ = j.cfg.Stderr.Write([]byte(b))
	}
	return v
}
