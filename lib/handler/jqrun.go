package handler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itchyny/gojq"
)

// errRunTimeout is why a run was stopped at Config.Timeout.
var errRunTimeout = errors.New("jq handler timed out")

// runner is one of the concurrent runs a jqProgram allows: its own
// compilation of the program, in a loop that stays at its pause between
// requests (see newRunner). A request holds it from start to finish, and
// it is the loop's context: gojq checks Done between steps, which is how a
// program that loops for ever is stopped.
// Its timer and channel are kept from run to run: a context and a timer
// made for every request cost an in-process request a tenth of its time.
type runner struct {
	code *gojq.Code // the program in its loop, compiled for this runner
	iter gojq.Iter  // the loop, at its pause; nil before the first request and after a failure
	// The request the loop takes next, under the lock of the runner's
	// holder: _fold_request reads it.
	pending    any
	hasPending bool
	paused     bool // the loop found no request: what it outputs now is the pause

	timer   *time.Timer
	stopCtx func() bool // stops the run's context.AfterFunc, if it has one

	stopped atomic.Bool   // the run is stopped: Done is closed
	closed  chan struct{} // closed from the start: Done once stopped

	mu       sync.Mutex
	err      error     // why the run was stopped
	running  bool      // a run holds the runner; a stop stops only it
	deadline time.Time // the run's, zero if none
}

func newRunner() *runner {
	r := &runner{closed: make(chan struct{})}
	close(r.closed)
	r.timer = time.AfterFunc(time.Hour, r.expire)
	r.timer.Stop()
	return r
}

// expire is the timer's. A timer stopped too late to keep it from firing
// may call it during the next run, which the deadline tells apart.
func (r *runner) expire() {
	r.mu.Lock()
	due := !r.deadline.IsZero() && !time.Now().Before(r.deadline)
	r.mu.Unlock()
	if due {
		r.stop(errRunTimeout)
	}
}

// start begins a run that must end within timeout (0: none) or when ctx
// is done. finish ends it.
func (r *runner) start(ctx context.Context, timeout time.Duration) {
	r.mu.Lock()
	r.running, r.deadline = true, time.Time{}
	if timeout > 0 {
		r.deadline = time.Now().Add(timeout)
	}
	r.mu.Unlock()
	if timeout > 0 {
		r.timer.Reset(timeout)
	}
	r.stopCtx = nil
	if ctx.Done() != nil {
		r.stopCtx = context.AfterFunc(ctx, func() { r.stop(ctx.Err()) })
	}
}

// finish ends the run, and says why it was stopped, if it was:
// errRunTimeout, or its context's error.
func (r *runner) finish() error {
	r.timer.Stop()
	if r.stopCtx != nil {
		r.stopCtx()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A stop that comes late finds no run.
	r.running = false
	err := r.err
	if err != nil {
		r.err = nil
		r.stopped.Store(false)
	}
	return err
}

// request is the loop's _fold_request: the pending request, or null.
func (r *runner) request(any, []any) any {
	if !r.hasPending {
		r.paused = true
		return nil
	}
	v := r.pending
	r.pending, r.hasPending, r.paused = nil, false, false
	return v
}

// stop stops the run in hand, if any, for err.
func (r *runner) stop(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running && r.err == nil {
		r.err = err
		r.stopped.Store(true)
	}
}

// Done, Err, Deadline and Value make a runner the context of its run.
//
// Done is nil while the run goes on and a closed channel once it is
// stopped: gojq calls Done and selects on what it returns before every
// step of the program, and a select on a nil channel is the cheapest
// there is (on a channel of the runner's own, the check took a tenth of
// a projection's run). Unlike a context's, Done does not return the same
// value on every call: gojq asks again at every step, which the timeout
// tests hold it to.
func (r *runner) Done() <-chan struct{} {
	if r.stopped.Load() {
		return r.closed
	}
	return nil
}

func (r *runner) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *runner) Deadline() (time.Time, bool) { return time.Time{}, false }
func (r *runner) Value(any) any               { return nil }
