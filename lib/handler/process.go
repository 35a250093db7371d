package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/record"
)

const (
	// maxLine bounds one protocol line: a state or a batch of events can be
	// large, but a peer that never prints a newline must not eat memory.
	maxLine = 64 << 20
	// readBufSize is the answer reader's buffer; most answers fit in it.
	readBufSize = 64 << 10
	// exitGrace is how long a handler whose stdout reached EOF gets to exit
	// before it is killed: one-shot scripts exit at once.
	exitGrace = time.Second
	// closeGrace is how long a handler gets to exit after its stdin closed.
	closeGrace = 2 * time.Second
	// waitDelay bounds how long reaping waits for a stderr copy that a
	// stray grandchild keeps open.
	waitDelay = time.Second
)

// Process is one handler co-process. It is started on the first Call and
// restarted as needed after it exits, times out or answers garbage.
// A Process is not safe for concurrent use: it carries one request at a time.
type Process struct {
	cfg    Config
	name   string
	proc   *running // nil until started and after it was discarded
	closed bool
	wbuf   []byte // the request line with its newline, reused
}

// New returns a Process for cfg. Nothing is started until the first Call.
func New(cfg Config) *Process {
	return &Process{cfg: cfg, name: cfg.name()}
}

// Name returns the handler's name as errors show it.
func (p *Process) Name() string { return p.name }

// Call sends req, one JSON value without a newline, and returns the answer
// line, which is one JSON object (without its newline) that the caller owns.
//
// A handler that exits after answering (a one-shot script) is restarted and
// the request re-sent once. A handler that exits without answering, times
// out, or answers with something that is not one JSON object fails this
// request with an *Error (or *NotFoundError when sh could not find the
// command); the next Call starts a fresh process.
func (p *Process) Call(ctx context.Context, req []byte) ([]byte, error) {
	if p.closed {
		return nil, &Error{Handler: p.name, Reason: "was already closed", Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Handler: p.name, Reason: "was not called: request cancelled", Err: err}
	}
	if bytes.IndexByte(req, '\n') >= 0 {
		// It would be two requests to the handler and shift every answer.
		return nil, &Error{Handler: p.name, Reason: "was not called: the request spans more than one line", Err: ErrBadRequest}
	}
	p.wbuf = append(append(p.wbuf[:0], req...), '\n')
	p.cfg.debug(debugRequest, req)
	deadline, fromCtx := p.deadline(ctx)
	resent := false
	for {
		if p.proc != nil && p.proc.exited() {
			// It exited after its last answer: start the next one before
			// writing rather than after a failed write.
			p.discard(0)
		}
		if p.proc == nil {
			rp, err := p.start()
			if err != nil {
				return nil, err
			}
			p.proc = rp
		}
		rp := p.proc
		ans, err := p.roundTrip(ctx, rp, deadline)
		if err == nil {
			rp.answered++
			return ans, nil
		}
		if !isExit(err) {
			p.discard(0)
			return nil, p.failure(ctx, err, ans, fromCtx)
		}
		answeredBefore := rp.answered > 0
		p.discard(exitGrace)
		if answeredBefore && !resent && len(ans) == 0 {
			// The request met a handler that was exiting after its last
			// answer: the new process gets it once.
			resent = true
			continue
		}
		return nil, p.exitFailure(rp, answeredBefore, ans)
	}
}

// Close closes the handler's stdin, gives it a moment to exit and then
// kills its process group. Later Calls fail with ErrClosed. It always
// returns nil: a handler that had to be killed has nothing left to lose.
func (p *Process) Close() error {
	p.closed = true
	if p.proc != nil {
		p.discard(closeGrace)
	}
	return nil
}

// roundTrip writes the request and reads one answer line. On error, the
// returned bytes are what the handler printed of a line, if anything.
func (p *Process) roundTrip(ctx context.Context, rp *running, deadline time.Time) ([]byte, error) {
	if err := rp.stdin.SetWriteDeadline(deadline); err != nil {
		return nil, err
	}
	if err := rp.stdout.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	defer interruptOnDone(ctx, rp)()
	if _, err := rp.stdin.Write(p.wbuf); err != nil {
		return nil, err
	}
	line, err := rp.lines.next()
	if len(line) > 0 || err == nil {
		// Garbage too: it is what someone debugging needs to see.
		p.cfg.debug(debugAnswer, line)
	}
	if err != nil {
		return clip(line), err
	}
	if !record.IsObject(line) || !record.Valid(line) {
		return clip(line), errNotObject
	}
	// The caller owns the answer; the reader's buffer is reused.
	return append([]byte(nil), line...), nil
}

// deadline combines Config.Timeout with the context's deadline; fromCtx
// says the context's is earlier, so an expiry is reported as the right one.
// One deadline covers a request and its one re-send.
func (p *Process) deadline(ctx context.Context) (d time.Time, fromCtx bool) {
	if p.cfg.Timeout > 0 {
		d = time.Now().Add(p.cfg.Timeout)
	}
	if cd, ok := ctx.Deadline(); ok && (d.IsZero() || cd.Before(d)) {
		return cd, true
	}
	return d, false
}

// interruptOnDone makes a cancelled context end a pending read or write by
// moving the deadlines to now: no goroutine waits per request. The returned
// func must be called before the next request so a late cancellation
// cannot move that request's deadlines.
func interruptOnDone(ctx context.Context, rp *running) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		now := time.Now()
		_ = rp.stdin.SetWriteDeadline(now)
		_ = rp.stdout.SetReadDeadline(now)
		close(fired)
	})
	return func() {
		if !stopFunc() {
			<-fired
		}
	}
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

// failure turns a round-trip error other than an exit into the request's
// error. The process has already been discarded. fromCtx says whether the
// request's deadline was the context's rather than Config.Timeout.
func (p *Process) failure(ctx context.Context, err error, out []byte, fromCtx bool) error {
	e := &Error{Handler: p.name, Err: err}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if cerr := ctx.Err(); cerr != nil {
			e.Reason, e.Err = "did not answer before the request was cancelled", cerr
		} else if fromCtx {
			e.Reason, e.Err = "did not answer before the request's deadline", context.DeadlineExceeded
		} else {
			e.Reason, e.Err = fmt.Sprintf("did not answer within %s", p.cfg.Timeout), ErrTimeout
		}
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
func (p *Process) exitFailure(rp *running, answeredBefore bool, out []byte) error {
	if !answeredBefore && len(out) == 0 && rp.exitCode() == 127 {
		return &NotFoundError{Handler: p.name, Command: p.cfg.Command}
	}
	return &Error{
		Handler: p.name,
		Reason:  fmt.Sprintf("exited without answering (%s)", rp.status()),
		Output:  quoteOutput(out),
		Err:     ErrExited,
	}
}
