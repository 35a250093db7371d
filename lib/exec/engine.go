package exec

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Config is how an Engine runs.
type Config struct {
	Store         store.Store
	Routes        map[string]*handler.Pool // aggregate type → its handler
	Sync          SyncMode
	SnapshotEvery int           // save a snapshot after this many new events; 0 never
	LockTimeout   time.Duration // wait this long for another process's lock
	IdleTimeout   time.Duration // an actor idle this long is evicted; 0 never
	MaxActors     int           // live actors at most; least recently used evicted first
	Jobs          int           // handler processes per aggregate type
	Log           *slog.Logger
	Now           func() time.Time // clock for event timestamps; time.Now if nil
	MaxEvent      int              // the longest event line appended; 0: record.DefaultMaxEvent
	// MemoryBudget bounds, in bytes, what the engine holds of its input:
	// lines read and not yet done with (Pipe, with InputBudget), the log
	// read for replays, and the buffers actors keep; 0:
	// DefaultMemoryBudget.
	MemoryBudget int
}

// Default values for the Config fields the programs expose as flags.
const (
	DefaultSnapshotEvery = 100
	DefaultLockTimeout   = 10 * time.Second
	DefaultIdleTimeout   = 5 * time.Minute
	DefaultMaxActors     = 1024
	// DefaultMemoryBudget keeps a run well under 100 MiB of memory
	// whatever the size of its commands (bench (m)).
	DefaultMemoryBudget = 32 << 20
)

// pipelineDepth is how many requests the engine keeps in flight per
// handler process: requests for different instances are independent, and a
// handler that reads many at once answers them with one write.
const pipelineDepth = 32

// maxBatch bounds how many queued commands an actor handles under one lock,
// so another process waiting on the same instance gets its turn.
const maxBatch = 256

// Engine routes commands to actors, one per active instance. It is safe for
// concurrent use.
type Engine struct {
	cfg     Config
	commit  *committer
	jobs    chan struct{} // semaphore bounding handler requests in flight
	replays chan struct{} // semaphore bounding replays under way, each holding two batches

	mu     sync.Mutex
	actors map[record.StreamID]*list.Element // of *actor
	lru    *list.List                        // front: most recently used
	closed bool

	stopJanitor chan struct{}
	janitorDone chan struct{}
}

// New starts an engine.
func New(cfg Config) *Engine {
	if cfg.Jobs < 1 {
		cfg.Jobs = 1
	}
	if cfg.MaxActors < 1 {
		cfg.MaxActors = DefaultMaxActors
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sync == "" {
		cfg.Sync = SyncBatch
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = DefaultMemoryBudget
	}
	e := &Engine{
		cfg:         cfg,
		commit:      &committer{store: cfg.Store},
		jobs:        make(chan struct{}, cfg.Jobs*pipelineDepth),
		replays:     make(chan struct{}, max(2, cfg.MemoryBudget/replayShare/(2*replayBatchBytes))),
		actors:      make(map[record.StreamID]*list.Element),
		lru:         list.New(),
		stopJanitor: make(chan struct{}),
		janitorDone: make(chan struct{}),
	}
	go e.janitor()
	return e
}

// How the memory budget is shared: a quarter for the batches of the log
// that replays hold (two each, see replayer), the rest for input lines in
// flight (InputBudget).
const replayShare = 4

// InputBudget is what Pipe may hold of input lines in flight, in bytes:
// the engine's share of its memory budget for them.
func (e *Engine) InputBudget() int { return e.cfg.MemoryBudget - e.cfg.MemoryBudget/replayShare }

// Route reports whether commands for an aggregate type have a handler.
func (e *Engine) Route(aggType string) bool {
	_, ok := e.cfg.Routes[aggType]
	return ok
}

// Pending is a command or event on its way; Wait returns its outcome.
type Pending struct {
	done chan struct{}
	res  Result
}

// Wait blocks until the outcome is known.
func (p *Pending) Wait() Result {
	<-p.done
	return p.res
}

// Ready reports whether Wait would return at once.
func (p *Pending) Ready() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Pending) finish(r Result) {
	p.res = r
	close(p.done)
}

// Result is what became of one command or injected event.
type Result struct {
	Records []record.Record // appended, already durable; empty for a rejection
	Failure *Failure        // nil on success
}

func failed(f *Failure) Result { return Result{Failure: f} }

// job is one unit of work for an actor.
type job struct {
	ctx    context.Context
	env    record.Envelope // a command, or
	inject *record.Event   // an event to append as is
	p      *Pending
}

// Submit queues a command for its instance's actor. Commands for one
// instance are handled in the order submitted.
func (e *Engine) Submit(ctx context.Context, env record.Envelope) *Pending {
	p := &Pending{done: make(chan struct{})}
	id := record.StreamID{Type: env.AggregateType, ID: env.InstanceID}
	if err := store.CheckStream(id); err != nil {
		p.finish(failed(AsFailure(err, KindInvalid)))
		return p
	}
	if !e.Route(env.AggregateType) {
		p.finish(failed(fail(KindUnknownType, "no handler for aggregate_type %s", record.Quote(env.AggregateType))))
		return p
	}
	e.enqueue(id, &job{ctx: ctx, env: env, p: p})
	return p
}

// Inject queues an event to be appended to a stream without a handler.
func (e *Engine) Inject(ctx context.Context, id record.StreamID, ev record.Event) *Pending {
	p := &Pending{done: make(chan struct{})}
	if err := store.CheckStream(id); err != nil {
		p.finish(failed(AsFailure(err, KindInvalid)))
		return p
	}
	e.enqueue(id, &job{ctx: ctx, inject: &ev, p: p})
	return p
}

func (e *Engine) enqueue(id record.StreamID, j *job) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		j.p.finish(failed(fail(KindIO, "engine closed")))
		return
	}
	var a *actor
	if el, ok := e.actors[id]; ok {
		e.lru.MoveToFront(el)
		a = el.Value.(*actor)
	} else {
		a = newActor(e, id)
		e.actors[id] = e.lru.PushFront(a)
	}
	start := a.push(j)
	evict := e.overCapacityLocked()
	e.mu.Unlock()
	if start {
		go a.run()
	}
	for _, v := range evict {
		v.retire()
	}
}

// overCapacityLocked removes least recently used idle actors beyond
// MaxActors from the table and returns them for retiring. e.mu must be held.
func (e *Engine) overCapacityLocked() []*actor {
	var out []*actor
	for el := e.lru.Back(); el != nil && e.lru.Len()-len(out) > e.cfg.MaxActors; {
		prev := el.Prev()
		a := el.Value.(*actor)
		if a.idle() {
			e.lru.Remove(el)
			delete(e.actors, a.id)
			out = append(out, a)
		}
		el = prev
	}
	return out
}

// janitor evicts actors idle for longer than IdleTimeout.
func (e *Engine) janitor() {
	defer close(e.janitorDone)
	if e.cfg.IdleTimeout <= 0 {
		<-e.stopJanitor
		return
	}
	tick := time.NewTicker(min(e.cfg.IdleTimeout/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-e.stopJanitor:
			return
		case now := <-tick.C:
			var out []*actor
			e.mu.Lock()
			for el := e.lru.Back(); el != nil; {
				prev := el.Prev()
				a := el.Value.(*actor)
				if a.idleSince(now, e.cfg.IdleTimeout) {
					e.lru.Remove(el)
					delete(e.actors, a.id)
					out = append(out, a)
				}
				el = prev
			}
			e.mu.Unlock()
			for _, a := range out {
				a.retire()
			}
		}
	}
}

// Close waits for queued work, evicts every actor (saving snapshots) and
// stops the engine. Handlers are the caller's to close.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var all []*actor
	for el := e.lru.Front(); el != nil; el = el.Next() {
		all = append(all, el.Value.(*actor))
	}
	e.actors = nil
	e.lru.Init()
	e.mu.Unlock()
	close(e.stopJanitor)
	<-e.janitorDone
	for _, a := range all {
		a.waitIdle()
		a.retire()
	}
	return nil
}

// Live returns how many actors hold cached state now.
func (e *Engine) Live() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lru.Len()
}
