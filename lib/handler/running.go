package handler

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// running is one started instance of a handler command, with the requests
// it was sent and has not answered yet.
//
// One goroutine at a time reads its stdout: the one holding the read turn
// (reading). A caller whose request is the oldest in flight takes the turn
// itself when it is free, so that a lone request costs no hand-off between
// goroutines; the process's reader goroutine takes it when requests are in
// flight that no caller is reading for: pipelined ones, abandoned ones.
type running struct {
	cmd    *exec.Cmd
	stdin  *os.File // our end; os.Pipe so writes take deadlines
	stdout *os.File // our end; os.Pipe so reads take deadlines
	lines  *lineReader
	done   chan struct{} // closed once cmd.Wait returned
	torn   chan struct{} // closed once it was ended and its calls settled
	work   chan struct{} // poked for the reader goroutine
	room   chan struct{} // poked for a writer when a request was answered

	// Under Process.mu:
	fifo     fifo  // in flight, oldest first
	answered int   // answers this instance gave
	reading  bool  // someone holds the read turn
	closing  bool  // nothing more is sent; it is ended once the FIFO is empty
	aborted  error // errAbortCancel or errAbortClose once killed from outside
}

// Why a process was killed by someone other than its reader.
var (
	errAbortCancel = errors.New("cancelled")
	errAbortClose  = errors.New("closed")
)

// fifo is a ring of the calls in flight to one process, in the order they
// were written, which is the order of the answers.
type fifo struct {
	buf  [maxInFlight]*pending
	head int
	n    int
}

func (f *fifo) push(c *pending) {
	f.buf[(f.head+f.n)%maxInFlight] = c
	f.n++
}

// front returns the oldest call, or nil.
func (f *fifo) front() *pending {
	if f.n == 0 {
		return nil
	}
	return f.buf[f.head]
}

func (f *fifo) pop() *pending {
	c := f.buf[f.head]
	f.buf[f.head] = nil
	f.head = (f.head + 1) % maxInFlight
	f.n--
	return c
}

// start runs the command in a process group of its own, so that killing
// the group also kills what the shell started, and starts its reader.
func (p *Process) start() (*running, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	cmd := exec.Command("/bin/sh", "-c", p.cfg.Command)
	// Last, so that it wins over an inherited or passed value.
	cmd.Env = append(append(os.Environ(), p.cfg.Env...), "FOLD_PROTOCOL=1")
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = p.cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	err = cmd.Start()
	// The child has its own copies; ours would keep the pipes open after it
	// exits and hide the EOF and EPIPE that tell us so.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	rp := &running{
		cmd:    cmd,
		stdin:  inW,
		stdout: outR,
		lines:  newLineReader(outR, readBufSize),
		done:   make(chan struct{}),
		torn:   make(chan struct{}),
		work:   make(chan struct{}, 1),
		room:   make(chan struct{}, 1),
	}
	// One goroutine per process lifetime reaps it, so that exited() can
	// tell whether it is gone without blocking.
	go func() {
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(rp.done)
	}()
	go p.reads(rp)
	return rp, nil
}

// reads is the reader goroutine of rp. When woken, it takes the read turn
// if nobody holds it and hands answers to the calls in flight until none
// is left, and it ends rp once rp exited or is closing with nothing in
// flight.
func (p *Process) reads(rp *running) {
	exited := rp.done
	for {
		select {
		case <-rp.work:
		case <-exited: // between requests, or a reader will see it
			exited = nil
			p.mu.Lock()
			p.closeLocked(rp)
			p.mu.Unlock()
		case <-rp.torn:
			return
		}
		p.mu.Lock()
		if rp.reading || (rp.fifo.n == 0 && !rp.closing) {
			p.mu.Unlock()
			continue
		}
		rp.reading = true
		idle := rp.fifo.n == 0
		p.mu.Unlock()
		if idle {
			p.finish(rp, nil, nil)
			return
		}
		for p.readOne(rp) {
			p.mu.Lock()
			if rp.fifo.n == 0 {
				p.releaseLocked(rp)
				p.mu.Unlock()
				break
			}
			p.mu.Unlock()
		}
	}
}

// readOne reads the next answer line and hands it to the oldest call in
// flight, of which there must be one. The read turn must be held. It
// returns false if rp was ended instead.
func (p *Process) readOne(rp *running) bool {
	p.mu.Lock()
	head, aborted := rp.fifo.front(), rp.aborted
	unsent := head.unsent != nil
	p.mu.Unlock()
	switch {
	case aborted != nil:
		p.finish(rp, aborted, nil)
		return false
	case unsent:
		p.finish(rp, errUnsent, nil)
		return false
	}
	line, err := rp.lines.next()
	if len(line) > 0 || err == nil {
		// Garbage too: it is what someone debugging needs to see.
		p.cfg.debug(debugAnswer, line)
	}
	if err == nil && (!record.IsObject(line) || !record.Valid(line)) {
		err = errNotObject
	}
	p.mu.Lock()
	if err != nil || head.unsent != nil {
		// An answer to an unsent request answers the part of a line
		// that the handler got.
		p.mu.Unlock()
		p.finish(rp, err, clip(line))
		return false
	}
	// The caller owns the answer; the reader's buffer is reused.
	rp.fifo.pop().settle(append([]byte(nil), line...), nil, false)
	rp.answered++
	if next := rp.fifo.front(); next != nil {
		p.headLocked(rp, next)
	}
	poke(rp.room)
	p.mu.Unlock()
	return true
}

// releaseLocked gives up the read turn, and wakes the reader goroutine if
// there is work left that nobody may be reading for.
func (p *Process) releaseLocked(rp *running) {
	rp.reading = false
	p.handoffLocked(rp)
}

func (p *Process) handoffLocked(rp *running) {
	if !rp.reading && (rp.fifo.n > 0 || rp.closing) {
		poke(rp.work)
	}
}

// closeLocked stops sending to rp; it is ended once what is in flight is
// answered.
func (p *Process) closeLocked(rp *running) {
	if !rp.closing {
		rp.closing = true
		p.handoffLocked(rp)
	}
}

// errUnsent stands for the end of a process whose oldest request in flight
// was not written whole: it will not be answered.
var errUnsent = errors.New("request not written")

// headLocked makes c the oldest request in flight: its answer is due
// within Config.Timeout from now, plus the start-up allowance if it is the
// process's first, or by its context's deadline.
func (p *Process) headLocked(rp *running, c *pending) {
	c.headSince = time.Now()
	c.first = rp.answered == 0
	if rp.aborted == nil {
		_ = rp.stdout.SetReadDeadline(p.dueLocked(c))
	}
}

// dueLocked is when the answer to c, the oldest in flight, is due; zero
// means never. fromCtx says the context's deadline is the earlier one.
func (p *Process) dueLocked(c *pending) (due time.Time) {
	due, _ = p.dueFromLocked(c)
	return due
}

func (p *Process) dueFromLocked(c *pending) (due time.Time, fromCtx bool) {
	if p.cfg.Timeout > 0 {
		due = c.headSince.Add(p.cfg.Timeout)
		if c.first {
			due = due.Add(p.cfg.startup())
		}
	}
	// Once its caller has gone, only the timeout keeps a stuck handler in
	// check: the context no longer matters.
	if !c.abandoned && !c.deadline.IsZero() && (due.IsZero() || c.deadline.Before(due)) {
		return c.deadline, true
	}
	return due, false
}

// finish ends rp and settles every call in flight: the oldest as err
// says, which happened while it was due, the others, which were not at
// fault, by sending them again once. A nil err means nothing is in flight
// and rp is closing or exited. The read turn must be held; it is never
// given back, and torn is closed.
func (p *Process) finish(rp *running, err error, out []byte) {
	defer close(rp.torn)
	p.mu.Lock()
	rp.closing = true
	head := rp.fifo.front()
	switch {
	case head == nil:
	case rp.aborted != nil: // whatever the read saw came of the kill
		err = rp.aborted
	case errors.Is(head.unsent, os.ErrDeadlineExceeded):
		err = head.unsent // it was due before the handler took it all
	case head.unsent != nil:
		err = errUnsent
	}
	p.mu.Unlock()
	exited := isExit(err) || errors.Is(err, errUnsent)
	switch {
	case head == nil:
		rp.end(closeGrace)
	case exited:
		rp.end(exitGrace)
	default:
		rp.end(0) // a handler that misbehaved is killed at once
	}
	if head == nil {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	answeredBefore := rp.answered > 0
	switch {
	case errors.Is(err, errAbortClose):
		head.settle(nil, closedError(p.name, "was closed before it answered"), false)
	case errors.Is(err, errAbortCancel):
		// Its caller has gone; the others are re-sent below.
		head.settle(nil, cancelled(p.name, context.Canceled), false)
	case exited && answeredBefore && !head.resent && len(out) == 0:
		// The request met a handler that was exiting after its last
		// answer: the new process gets it once.
		head.restart = true
		head.settle(nil, nil, true)
	case exited:
		head.settle(nil, p.exitFailure(rp, answeredBefore, out), false)
	default:
		_, fromCtx := p.dueFromLocked(head)
		head.settle(nil, p.failure(err, out, fromCtx, head.first), false)
	}
	rp.fifo.pop()
	for rp.fifo.n > 0 {
		c := rp.fifo.pop()
		switch {
		case errors.Is(err, errAbortClose):
			c.settle(nil, closedError(p.name, "was closed before it answered"), false)
		case c.resent:
			c.settle(nil, &Error{Handler: p.name, Reason: "was restarted twice before it answered the request", Err: ErrExited}, false)
		default:
			c.settle(nil, nil, true)
		}
	}
}

// settle sets the outcome of c and wakes its caller. Process.mu must be
// held.
func (c *pending) settle(ans []byte, err error, retry bool) {
	c.ans, c.err, c.retry, c.settled = ans, err, retry, true
	close(c.done)
}

// abortLocked kills rp for a reason outside its reader (a cancellation, a
// Close that ran out of patience) and makes its reader see it.
func (p *Process) abortLocked(rp *running, why error) {
	if rp.aborted != nil {
		return
	}
	rp.aborted, rp.closing = why, true
	rp.kill()
	_ = rp.stdout.SetReadDeadline(time.Now()) // for whoever is reading
	p.handoffLocked(rp)                       // for when nobody is
}

// end ends the process: it closes its stdin so a well-behaved handler
// exits, waits up to grace for that, then kills the process group. Only
// the holder of the read turn calls it.
func (rp *running) end(grace time.Duration) {
	rp.stdin.Close()
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-rp.done:
		case <-t.C:
		}
		t.Stop()
	}
	rp.kill()
	<-rp.done
	rp.stdout.Close()
}

// kill kills the process group, unless the process was reaped.
func (rp *running) kill() {
	if !rp.exited() {
		// Only while the leader is unreaped: afterwards its pid, and so the
		// group id, could belong to someone else.
		_ = syscall.Kill(-rp.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (rp *running) exited() bool {
	select {
	case <-rp.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status, or -1 if it was killed by a signal.
// It must be called after the process was reaped.
func (rp *running) exitCode() int {
	if rp.cmd.ProcessState == nil {
		return -1
	}
	return rp.cmd.ProcessState.ExitCode()
}

// status says how it ended, e.g. "exit status 3" or "signal: killed".
func (rp *running) status() string {
	if rp.cmd.ProcessState == nil {
		return "status unknown"
	}
	return rp.cmd.ProcessState.String()
}
