package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
)

// LocalLock is a stream's writer lock held within one process, for
// backends that have no lock of their own to offer (memstore; JetStream,
// whose appends check instead that nobody appended since). Each writer
// takes it through a LockHold of its own.
type LocalLock chan struct{}

// NewLocalLock returns a free lock.
func NewLocalLock() LocalLock { return make(LocalLock, 1) }

// LockHold is one writer's hold on a LocalLock.
type LockHold struct {
	L LocalLock

	mu   sync.Mutex
	held bool
}

// Lock waits up to timeout for the lock (then an error wrapping
// eventlog.ErrLockTimeout naming name) or until ctx is done.
func (h *LockHold) Lock(ctx context.Context, timeout time.Duration, name string) (unlock func() error, err error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case h.L <- struct{}{}:
	case <-t.C:
		return nil, fmt.Errorf("%s: held by another writer for %s: %w", name, timeout, eventlog.ErrLockTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	h.mu.Lock()
	h.held = true
	h.mu.Unlock()
	return h.Unlock, nil
}

// Unlock releases the lock if this hold has it: a writer's Close calls it
// too, so a writer closed while holding the lock does not keep it.
func (h *LockHold) Unlock() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.held = false
		<-h.L
	}
	return nil
}

// maxQueued is how many changes a ChangeQueue keeps for a slow reader
// before it gives them up for one Change with All set.
const maxQueued = 4096

// ChangeQueue is the delivering half of a Watcher: it hands queued
// changes to the reader from a goroutine of its own, so that whoever
// reports a change (a writer, a consumer's callback) never waits for the
// reader.
type ChangeQueue struct {
	out  chan Change
	wake chan struct{}
	done chan struct{}
	once sync.Once
	stop func()

	mu      sync.Mutex
	pending []Change
}

// NewChangeQueue starts a queue; stop, when not nil, is called once by
// Close, before the queue stops.
func NewChangeQueue(stop func()) *ChangeQueue {
	q := &ChangeQueue{out: make(chan Change), wake: make(chan struct{}, 1), done: make(chan struct{}), stop: stop}
	go q.run()
	return q
}

// Queue adds a change for the reader.
func (q *ChangeQueue) Queue(c Change) {
	q.mu.Lock()
	if len(q.pending) >= maxQueued {
		q.pending = append(q.pending[:0], Change{All: true})
	} else {
		q.pending = append(q.pending, c)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *ChangeQueue) run() {
	defer close(q.out)
	for {
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		q.mu.Unlock()
		for _, c := range batch {
			select {
			case q.out <- c:
			case <-q.done:
				return
			}
		}
	}
}

// Changes delivers the changes; it is closed once the queue is.
func (q *ChangeQueue) Changes() <-chan Change { return q.out }

// Closed is closed once Close was called.
func (q *ChangeQueue) Closed() <-chan struct{} { return q.done }

// Close stops the queue.
func (q *ChangeQueue) Close() error {
	q.once.Do(func() {
		if q.stop != nil {
			q.stop()
		}
		close(q.done)
	})
	return nil
}
