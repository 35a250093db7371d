package handler

import (
	"context"
	"errors"
	"sync"
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

	mu       sync.Mutex
	done     chan struct{} // closed to stop the run; replaced before the next one
	err      error         // why done was closed
	running  bool          // a run holds the runner; a stop stops only it
	deadline time.Time     // the run's, zero if none
}

func newRunner() *runner {
	r := &runner{done: make(chan struct{})}
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
		r.done, r.err = make(chan struct{}), nil
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
		close(r.done)
	}
}

// Done, Err, Deadline and Value make a runner the context of its run. Done
// is called only by the goroutine that holds the runner, the only one
// that replaces the channel.
func (r *runner) Done() <-chan struct{} { return r.done }

func (r *runner) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *runner) Deadline() (time.Time, bool) { return time.Time{}, false }
func (r *runner) Value(any) any               { return nil }
