package handler

import (
	"context"
	"sync"
)

// Pool runs up to size processes of one handler command for concurrent
// callers, or, for a command "jq:FILE", up to size runs of the jq program
// at once in-process. Another process starts only when every one has a call in hand,
// so a pool that is never busy runs one process, and callers spread over
// processes before they share one: a handler is often single-threaded.
// Once size processes run, each call goes to the one with the fewest calls
// in hand among those with room, where it is pipelined (see Process); a
// process that has not yet proven it answers more than one request has
// room for one call. A Pool is safe for concurrent use; its processes share
// Config.Stderr and Config.Debug, which must be too.
type Pool struct {
	cfg  Config
	name string
	size int
	jq   *jqProgram // set for an in-process jq handler, which has no processes

	mu     sync.Mutex
	procs  []*Process // in the order they were made, so ties go to the warm ones
	closed bool
}

// NewPool returns a pool of at most size processes (at least one).
// A command "jq:FILE" makes an in-process jq handler instead (see JQPrefix),
// which runs up to size requests at once.
func NewPool(cfg Config, size int) *Pool {
	p := &Pool{cfg: cfg, name: cfg.name(), size: max(size, 1)}
	if file, ok := JQFile(cfg.Command); ok {
		p.jq = newJQ(cfg, p.name, file, p.size)
	}
	return p
}

// Name returns the handler's name as errors show it.
func (p *Pool) Name() string { return p.name }

// Call sends req to an idle process, starting one if none is idle and
// fewer than size exist, or else to the least busy one with room; when
// none has room, the call waits in the least busy one for room or for ctx
// to be done. See Process.Call for what it returns.
func (p *Pool) Call(ctx context.Context, req []byte) ([]byte, error) {
	if p.jq != nil {
		return p.jq.call(ctx, req)
	}
	proc, err := p.pick()
	if err != nil {
		return nil, err
	}
	defer proc.active.Add(-1)
	return proc.call(ctx, req)
}

// pick chooses the process for a call and counts the call in it, in one
// step, so that callers arriving together spread over the processes.
func (p *Pool) pick() (*Process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, &Error{Handler: p.name, Reason: "was already closed", Err: ErrClosed}
	}
	var best, least *Process
	var bestN, leastN int32
	for _, proc := range p.procs {
		n := proc.active.Load()
		if least == nil || n < leastN {
			least, leastN = proc, n
		}
		if n < proc.depth() && (best == nil || n < bestN) {
			best, bestN = proc, n
		}
	}
	switch {
	case (least == nil || leastN > 0) && len(p.procs) < p.size:
		best = New(p.cfg)
		p.procs = append(p.procs, best)
	case best == nil:
		best = least
	}
	best.active.Add(1)
	return best, nil
}

// depth is how many calls the process can have in flight now.
func (p *Process) depth() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp := p.proc; rp != nil && !rp.closing && rp.answered >= provenAfter {
		return maxInFlight
	}
	return 1
}

// Close closes every process, side by side so that slow exits overlap;
// calls in flight get closeGrace to be answered. Later Calls fail with
// ErrClosed.
func (p *Pool) Close() error {
	if p.jq != nil {
		p.jq.closed.Store(true)
	}
	p.mu.Lock()
	procs := p.procs
	p.procs, p.closed = nil, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, proc := range procs {
		wg.Go(func() { _ = proc.Close() }) // Close never fails
	}
	wg.Wait()
	return nil
}
