package handler

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	// closeGrace is how long Close gives a handler to answer what it was
	// sent and exit once its stdin is closed.
	closeGrace = 2 * time.Second
	// waitDelay bounds how long reaping waits for a stderr copy that a
	// stray grandchild keeps open.
	waitDelay = time.Second
	// maxInFlight caps the requests a process has been sent and not yet
	// answered: enough for the handler to read many in one read and answer
	// them in one write, few enough that a crash has little to re-send.
	maxInFlight = 64
	// provenAfter is how many answers a process must have given before it
	// is sent a request while another is in flight. A one-shot script
	// answers one and exits, and what was queued behind that one in its
	// pipe would be lost with it.
	provenAfter = 2
)

// Process is one handler co-process. It is started on the first Call and
// restarted as needed after it exits, times out or answers garbage.
//
// A Process is safe for concurrent use. Concurrent calls are pipelined: a
// handler that has answered a few requests is sent the next ones without
// waiting for their answers (it answers in order), up to maxInFlight, so
// that it can read many in one read and answer them in one write. Each
// running process has one reader goroutine; a lone call reads its own
// answer. Config.Stderr and Config.Debug are written from more than one
// goroutine and must be safe for concurrent use if they are shared.
type Process struct {
	cfg  Config
	name string

	// wlock is held (a value sent on it) while a request is placed and
	// written, so that lines never interleave and the order of the FIFO is
	// the order of the pipe. A channel, so that waiting for it heeds the
	// caller's context.
	wlock chan struct{}
	// Requests placed but not yet written, under wlock. A caller that
	// sees others waiting for wlock leaves its line here for the last of
	// them to write with theirs: one write for many requests, where the
	// pipe writes were the engine's largest cost after deciding. Whoever
	// releases wlock with nobody waiting writes what is left.
	wbuf    []byte
	wrp     *running   // the process the lines in wbuf were placed in
	wcalls  []*pending // whose lines are in wbuf
	wdue    time.Time  // the earliest write deadline among them
	waiting atomic.Int32

	active atomic.Int32 // calls inside Call, for the Pool's routing

	// mu guards the fields below, and the FIFO and counters of proc. It
	// is never held during a read or write of the pipes, so the reader
	// never waits on a writer blocked on a full pipe.
	mu     sync.Mutex
	proc   *running // nil until started and after it was torn down
	closed bool
	peak   int // the most requests ever in flight at once; for tests
}

// pending is one request on its way through one process. A request that is
// re-sent gets a new pending.
type pending struct {
	deadline time.Time     // the context's, zero if none
	resent   bool          // this is the request's second sending
	fresh    bool          // it must be the first request of a new process
	done     chan struct{} // closed once the outcome below is set

	// Under Process.mu:
	headSince time.Time // when it became the oldest request in flight
	first     bool      // it is the first request of its process
	abandoned bool      // its caller gave up and returned
	unsent    error     // why its write failed: the handler did not get it whole
	settled   bool      // the outcome is set

	// The outcome, read by the caller once done is closed:
	ans   []byte
	err   error
	retry bool // send it again, to the next process
	// with retry: it met a process exiting after its last answer, and
	// goes to a new one, or it would be sent to one exiting again
	restart bool
}

// New returns a Process for cfg. Nothing is started until the first Call.
// cfg.Command is a shell command line: an in-process jq handler ("jq:FILE")
// is a Pool's (NewPool).
func New(cfg Config) *Process {
	return &Process{cfg: cfg, name: cfg.name(), wlock: make(chan struct{}, 1)}
}

// Name returns the handler's name as errors show it.
func (p *Process) Name() string { return p.name }

// Call sends req, one JSON value without a newline, and returns the answer
// line, which is one JSON object (without its newline) that the caller owns.
//
// A handler that exits after answering (a one-shot script) is restarted and
// the request re-sent once. A handler that exits without answering, times
// out, or answers with something that is not one JSON object fails the
// request it was answering with an *Error (or *NotFoundError when sh could
// not find the command); the requests sent after that one are re-sent once
// to the next process.
//
// Config.Timeout counts from the moment the request is the oldest one the
// handler has not answered, so that time spent behind other requests is
// not held against it. A cancelled call returns at once; if the handler is
// still answering it (it is the oldest in flight), the process is killed.
func (p *Process) Call(ctx context.Context, req []byte) ([]byte, error) {
	p.active.Add(1)
	defer p.active.Add(-1)
	return p.call(ctx, req)
}

// call is Call without the count of active calls, which a Pool makes when
// it chooses the process.
func (p *Process) call(ctx context.Context, req []byte) ([]byte, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, closedError(p.name, "was already closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, notCalled(p.name, err)
	}
	if bytes.IndexByte(req, '\n') >= 0 {
		// It would be two requests to the handler and shift every answer.
		return nil, &Error{Handler: p.name, Reason: "was not called: the request spans more than one line", Err: ErrBadRequest}
	}
	var deadline time.Time
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	resent, fresh := false, false
	for {
		c := &pending{deadline: deadline, resent: resent, fresh: fresh, done: make(chan struct{})}
		rp, err := p.send(ctx, c, req)
		if err != nil {
			return nil, err
		}
		if err := p.await(ctx, rp, c); err != nil {
			return nil, err
		}
		if c.retry {
			resent, fresh = true, c.restart
			continue
		}
		return c.ans, c.err
	}
}

// send places c in the FIFO of a running process, starting one if need be
// and waiting for room, then writes the request. It returns the process c
// went to; from then on the process's reader settles c, even when the
// write fails.
func (p *Process) send(ctx context.Context, c *pending, req []byte) (*running, error) {
	p.waiting.Add(1)
	select {
	case p.wlock <- struct{}{}:
		p.waiting.Add(-1)
	case <-ctx.Done():
		p.waiting.Add(-1)
		// A holder may have left its lines for this caller to write.
		p.wlock <- struct{}{}
		p.flushLocked(ctx)
		<-p.wlock
		return nil, notCalled(p.name, ctx.Err())
	}
	defer func() {
		switch {
		case len(p.wbuf) >= coalesceMax:
			p.flushLocked(ctx)
		case p.waiting.Load() > 0:
			<-p.wlock // the last of them writes
			return
		}
		<-p.wlock
		// Callers woken with this one (by one read of answers) run
		// first and place their requests beside it, so that they go in
		// one write. Whoever holds wlock then writes what is left when
		// it lets go, as this caller does now.
		runtime.Gosched()
		select {
		case p.wlock <- struct{}{}:
			p.flushLocked(ctx)
			<-p.wlock
		default:
		}
	}()
	if !c.resent {
		// Before it is placed, so that the answer is copied after it.
		p.cfg.debug(debugRequest, req)
	}
	rp, due, err := p.place(ctx, c)
	if err != nil {
		return nil, err
	}
	if rp != p.wrp {
		p.flushLocked(ctx)
		p.wrp = rp
	}
	p.wbuf = append(append(p.wbuf, req...), '\n')
	p.wcalls = append(p.wcalls, c)
	if !due.IsZero() && (p.wdue.IsZero() || due.Before(p.wdue)) {
		p.wdue = due
	}
	return rp, nil
}

// coalesceMax bounds the request bytes left for another caller to write:
// about what a pipe holds.
const coalesceMax = 64 << 10

// flushLocked writes the lines left in wbuf. wlock must be held. The
// lines are mostly other callers': a ctx already done does not stop them
// (a write cut short ends the process, and every request in it with it).
func (p *Process) flushLocked(ctx context.Context) {
	if len(p.wcalls) == 0 {
		return
	}
	if ctx.Err() != nil {
		ctx = context.Background()
	}
	p.write(ctx, p.wrp, p.wcalls, p.wbuf, p.wdue)
	clear(p.wcalls)
	p.wbuf, p.wcalls, p.wdue = p.wbuf[:0], p.wcalls[:0], time.Time{}
	if cap(p.wbuf) > keepLong {
		p.wbuf = nil // one huge request should not pin its buffer for good
	}
}

// place appends c to the FIFO of the running process, once that process
// has room for it, and returns the process and when the write of c is due.
// wlock must be held, so nothing else is placed meanwhile.
func (p *Process) place(ctx context.Context, c *pending) (rp *running, due time.Time, err error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, due, closedError(p.name, "was already closed")
		}
		rp = p.proc
		if rp == nil {
			p.mu.Unlock()
			if err := p.startLocked(); err != nil {
				return nil, due, err
			}
			continue
		}
		if used := rp.answered > 0 || rp.fifo.n > 0; !rp.closing && used && (rp.exited() || c.fresh) {
			// It exited after its last answer: start the next one before
			// writing rather than after a failed write. (One that exited
			// before it was given anything gets c, and fails it for what
			// it is, a handler that exits without answering: starting
			// another would only hide it.) Or c must be the
			// first request of a process; the exit it met would otherwise
			// be met again by a retry after other callers' requests, one
			// for each of them, since a one-shot handler answers once.
			p.closeLocked(rp)
		}
		var wait chan struct{}
		switch n := rp.fifo.n; {
		case rp.closing:
			// Its reader is ending it; the next one starts after that.
			wait = nil
		case n == 0 || (n < maxInFlight && rp.answered >= provenAfter):
			rp.fifo.push(c)
			p.peak = max(p.peak, rp.fifo.n)
			if rp.fifo.n == 1 {
				// Nobody reads until it is written: its write must not
				// outlast it. Behind others, a stuck handler is killed
				// for the one it is stuck on.
				p.headLocked(rp, c)
				due = p.dueLocked(c)
			}
			p.mu.Unlock()
			return rp, due, nil
		default:
			wait = rp.room
		}
		p.mu.Unlock()
		// What others left to write must reach the handler before this
		// waits for it to answer.
		p.flushLocked(ctx)
		select {
		case <-wait: // nil while closing: wait for torn
		case <-rp.torn:
			p.mu.Lock()
			if p.proc == rp {
				p.proc = nil
			}
			p.mu.Unlock()
		case <-ctx.Done():
			return nil, due, notCalled(p.name, ctx.Err())
		}
	}
}

// startLocked starts a process and makes it the current one. wlock must
// be held; mu must not be.
func (p *Process) startLocked() error {
	rp, err := p.start()
	if err != nil {
		return err
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.proc = rp
	} else {
		p.closeLocked(rp)
	}
	p.mu.Unlock()
	if closed {
		// Close is waiting for wlock and would not see it.
		<-rp.torn
	}
	return nil
}

// write writes the request lines of calls, which are in rp's FIFO in that
// order. A failed write ends the process: the handler did not get the
// lines whole, so nothing after them could be framed. The reader settles
// the calls.
func (p *Process) write(ctx context.Context, rp *running, calls []*pending, lines []byte, due time.Time) {
	_ = rp.stdin.SetWriteDeadline(due)
	stop := interruptOnDone(ctx, rp.stdin)
	_, err := rp.stdin.Write(lines)
	stop()
	if err == nil {
		return
	}
	p.mu.Lock()
	for _, c := range calls {
		if c.settled {
			continue
		}
		c.unsent = err
		if rp.fifo.front() == c && rp.aborted == nil {
			// The reader may be waiting for its answer: there is none.
			_ = rp.stdout.SetReadDeadline(time.Now())
		}
	}
	p.closeLocked(rp)
	p.mu.Unlock()
	// A handler that still reads sees the end of its input, answers what
	// it got and exits.
	_ = rp.stdin.Close()
}

// interruptOnDone makes a cancelled context end a pending write by moving
// its deadline to now: no goroutine waits per request. The returned func
// must be called before the next write.
func interruptOnDone(ctx context.Context, f *os.File) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		_ = f.SetWriteDeadline(time.Now())
		close(fired)
	})
	return func() {
		if !stopFunc() {
			<-fired
		}
	}
}

// await waits until c is settled. If c is the oldest request in flight
// and nobody is reading, it reads the answer itself, which spares a lone
// request the hand-off from the reader goroutine. It returns an error only
// if ctx ended first; then c is abandoned.
func (p *Process) await(ctx context.Context, rp *running, c *pending) error {
	for {
		p.mu.Lock()
		switch {
		case c.settled && !c.abandoned:
			p.mu.Unlock()
			return nil
		case c.abandoned || ctx.Err() != nil:
			// Cancelled while it read, or while it waited.
			p.abandonLocked(rp, c)
			p.mu.Unlock()
			return cancelled(p.name, ctx.Err())
		case !rp.reading && rp.fifo.front() == c:
			rp.reading = true
			p.mu.Unlock()
			stop := func() bool { return false }
			if ctx.Done() != nil {
				// A read waits in the poller, not in a select: the
				// context ends it by killing the process.
				stop = context.AfterFunc(ctx, func() {
					p.mu.Lock()
					p.abandonLocked(rp, c)
					p.mu.Unlock()
				})
			}
			ok := p.readOne(rp)
			stop()
			if ok {
				p.mu.Lock()
				p.releaseLocked(rp)
				p.mu.Unlock()
			}
			continue
		}
		p.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
		}
	}
}

// abandonLocked gives up c, whose caller's context is done, unless it was
// settled. The request keeps its place in the FIFO and its answer is
// dropped, unless the handler may be stuck on it or on an earlier
// abandoned one: then the process is killed, since nothing else would end
// that, and the requests behind are re-sent.
func (p *Process) abandonLocked(rp *running, c *pending) {
	if c.settled || c.abandoned {
		return
	}
	c.abandoned = true
	if h := rp.fifo.front(); h == c || h.abandoned {
		p.abortLocked(rp, errAbortCancel)
	}
}

// Close closes the handler's stdin, gives it a moment to answer what it was
// sent and exit, and then kills its process group. Later Calls fail with
// ErrClosed, and so do calls still waiting when it is killed. It always
// returns nil: a handler that had to be killed has nothing left to lose.
func (p *Process) Close() error {
	p.mu.Lock()
	p.closed = true
	if rp := p.proc; rp != nil {
		poke(rp.room) // a caller waiting for room sees closed
	}
	p.mu.Unlock()
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	locked, expired := false, false
	select {
	case p.wlock <- struct{}{}: // no write is under way
		locked = true
		p.flushLocked(context.Background()) // what was sent is answered
	case <-t.C:
		expired = true
	}
	p.mu.Lock()
	rp := p.proc
	p.proc = nil
	if rp != nil {
		p.closeLocked(rp)
	}
	p.mu.Unlock()
	if rp != nil && locked {
		_ = rp.stdin.Close()
	}
	if locked {
		<-p.wlock
	}
	if rp == nil {
		return nil
	}
	if !expired {
		select {
		case <-rp.torn:
			return nil
		case <-t.C:
		}
	}
	p.mu.Lock()
	p.abortLocked(rp, errAbortClose)
	p.mu.Unlock()
	<-rp.torn
	return nil
}

// poke wakes the goroutine that waits on ch, if any; a wake-up that finds
// nobody is kept for the next wait.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
