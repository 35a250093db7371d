package handler

import (
	"context"
	"sync"
)

// Pool runs up to size processes of one handler command for concurrent
// callers. Processes start only when no idle one is left, so a pool that
// is never busy runs one process. A Pool is safe for concurrent use; its
// processes share Config.Stderr and Config.Debug, which must be too.
type Pool struct {
	cfg    Config
	name   string
	tokens chan struct{} // one per process that may be busy

	mu     sync.Mutex
	idle   []*Process // most recently used last, so the warm ones are reused
	closed bool
}

// NewPool returns a pool of at most size processes (at least one).
func NewPool(cfg Config, size int) *Pool {
	if size < 1 {
		size = 1
	}
	return &Pool{cfg: cfg, name: cfg.name(), tokens: make(chan struct{}, size)}
}

// Name returns the handler's name as errors show it.
func (p *Pool) Name() string { return p.name }

// Call sends req to an idle process, starting one if fewer than size exist,
// and otherwise waits for one to be free or for ctx to be done. See
// Process.Call for what it returns.
func (p *Pool) Call(ctx context.Context, req []byte) ([]byte, error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{Handler: p.name, Reason: "was not called: request cancelled", Err: ctx.Err()}
	}
	defer func() { <-p.tokens }()
	proc, err := p.get()
	if err != nil {
		return nil, err
	}
	ans, err := proc.Call(ctx, req)
	p.put(proc)
	return ans, err
}

// Close closes the idle processes now, side by side so that slow exits
// overlap; busy ones are closed as their calls return. Later Calls fail
// with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, proc := range idle {
		wg.Go(func() { _ = proc.Close() }) // Close never fails
	}
	wg.Wait()
	return nil
}

// get takes an idle process or makes a new one; holding a token means the
// number of processes stays within size.
func (p *Pool) get() (*Process, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, &Error{Handler: p.name, Reason: "was already closed", Err: ErrClosed}
	}
	if n := len(p.idle); n > 0 {
		proc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return proc, nil
	}
	return New(p.cfg), nil
}

func (p *Pool) put(proc *Process) {
	p.mu.Lock()
	if !p.closed {
		p.idle = append(p.idle, proc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = proc.Close() // Close never fails
}
