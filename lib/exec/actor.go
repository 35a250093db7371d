package exec

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// actor owns one instance: its queue, its open log and its cached state.
// Only the actor's own goroutine touches the cache; the queue is shared
// with the engine under mu.
type actor struct {
	e  *Engine
	id record.StreamID

	mu       sync.Mutex
	queue    []*job
	running  bool
	lastUsed time.Time
	idleCond *sync.Cond

	// Owned by the running goroutine (and by retire, once idle).
	st stream
}

func newActor(e *Engine, id record.StreamID) *actor {
	a := &actor{e: e, id: id, lastUsed: time.Now()}
	a.idleCond = sync.NewCond(&a.mu)
	a.st.init(e, id)
	return a
}

// push queues j and reports whether a goroutine must be started for it.
func (a *actor) push(j *job) (start bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue = append(a.queue, j)
	a.lastUsed = time.Now()
	if a.running {
		return false
	}
	a.running = true
	return true
}

func (a *actor) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.running && len(a.queue) == 0
}

func (a *actor) idleSince(now time.Time, d time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.running && len(a.queue) == 0 && now.Sub(a.lastUsed) >= d
}

func (a *actor) waitIdle() {
	a.mu.Lock()
	for a.running || len(a.queue) > 0 {
		a.idleCond.Wait()
	}
	a.mu.Unlock()
}

// take removes up to maxBatch jobs from the queue, and when there are
// none and stop is true, marks the actor idle.
func (a *actor) take(stop bool) []*job {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := min(len(a.queue), maxBatch)
	batch := a.queue[:n:n]
	a.queue = a.queue[n:]
	if n == 0 {
		a.queue = nil
		if stop {
			a.running = false
			a.lastUsed = time.Now()
			a.idleCond.Broadcast()
		}
		return nil
	}
	return batch
}

// run handles queued jobs in batches until the queue is empty.
func (a *actor) run() {
	more := func() []*job { return a.take(false) }
	for {
		batch := a.take(true)
		if batch == nil {
			return
		}
		if rest := a.st.process(batch, more); len(rest) > 0 {
			// The batch was cut at the end of its turn: the jobs not
			// tried go first next time, after a pause in which another
			// process waiting for the lock can take it (turns.go).
			a.mu.Lock()
			a.queue = append(rest, a.queue...)
			a.mu.Unlock()
			time.Sleep(yieldGap)
		}
	}
}

// retire saves what the cache knows and frees it. The actor must be idle
// and out of the engine's table.
func (a *actor) retire() {
	if err := a.st.close(); err != nil {
		a.e.cfg.Log.Warn("evict instance", "stream", a.id.String(), "err", err)
		return
	}
	a.e.cfg.Log.Debug("instance evicted", "stream", a.id.String())
}

// outcome collects, for one batch, what each job's result will be once the
// batch's appends are durable.
type outcome struct {
	j    *job
	recs []record.Record
	f    *Failure
}

// finish hands the job its result.
func (o *outcome) finish() {
	if o.f != nil {
		o.j.p.finish(failed(o.f))
	} else {
		o.j.p.finish(Result{Records: o.recs})
	}
}

// process runs one batch under one hold of the writer lock, then, while
// the turn lasts, the batches more has queued meanwhile: under a lock held
// all along the log cannot have changed, so they are decided without
// reading it again, and the lock is taken once for them all. When the
// hold reaches the end of its turn (turns.go) the jobs not yet tried are
// returned, untouched, to be queued again.
func (s *stream) process(batch []*job, more func() []*job) (rest []*job) {
	outs := outcomes(batch)
	// Outcomes [released, decided) are finished here; with --sync each
	// the syncer finishes each before that as soon as its sync is done.
	released, decided := 0, len(outs)
	defer func() {
		for i := released; i < decided; i++ {
			outs[i].finish()
		}
	}()
	ctx := batch[0].ctx
	if err := s.open(); err != nil {
		s.failAll(outs, err)
		return
	}
	if s.w == nil && s.processNew(ctx, outs) {
		return
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		if errors.Is(err, eventlog.ErrLockTimeout) {
			err = &Failure{Kind: KindLockTimeout, Err: fmt.Errorf("instance %s: %w", s.id, err)}
		}
		s.failAll(outs, err)
		return
	}
	turnEnd := s.turnEnd(time.Now())
	defer func() {
		if err := unlock(); err != nil {
			s.e.cfg.Log.Warn("unlock", "stream", s.id.String(), "err", err)
		}
	}()
	if err := s.refreshLocked(ctx); err != nil {
		s.failAll(outs, err)
		return
	}
	for {
		decided = s.decideAppendLocked(ctx, outs, turnEnd, &released)
		// A store whose lock does not reach other machines (JetStream)
		// may refuse an append another writer got in first: decide
		// again, on the log as it is, what was not appended.
		s.retryConflictsLocked(ctx, outs[:decided], func(rest []outcome) { s.decideAppendLocked(ctx, rest, time.Time{}, nil) })
		if decided < len(outs) || !s.loaded {
			// The turn ended, or a failure dropped the cache: the
			// next batch takes the lock and reads the log again.
			return batch[decided:]
		}
		next := more()
		if len(next) == 0 {
			return nil
		}
		if time.Now().After(turnEnd) {
			return next // tried after the pause that ends the turn
		}
		for i := released; i < decided; i++ {
			outs[i].finish()
		}
		batch, ctx = next, next[0].ctx
		outs = outcomes(batch)
		released, decided = 0, len(outs)
	}
}

// outcomes are a batch's outcomes, to be decided.
func outcomes(batch []*job) []outcome {
	outs := make([]outcome, len(batch))
	for i, j := range batch {
		outs[i].j = j
	}
	return outs
}

// decideAppendLocked decides outs on the cached state, up to the end of
// the turn (turnEnd; zero: no end), appends what it decided, and returns
// how many it decided. With --sync each, outcomes before *released are
// finished as soon as their sync is done (released nil: not early). The
// writer lock must be held.
func (s *stream) decideAppendLocked(ctx context.Context, outs []outcome, turnEnd time.Time, released *int) (decided int) {
	if s.e.cfg.Sync == SyncEach {
		s.eager = newSyncer(s.w)
		// Each command's record goes out once its own sync is done, and
		// with it those before it that appended nothing (their decisions
		// stand on what is now durable), not after the whole batch.
		if released != nil {
			all := outs // the syncer's; outs is cut below
			s.eager.release = func(upTo int) {
				for ; *released < upTo; *released++ {
					all[*released].finish()
				}
			}
		}
	}
	_, decided = s.decideAll(ctx, outs, turnEnd)
	outs = outs[:decided]
	if s.eager != nil {
		failed := s.eager.await()
		s.eager = nil
		if failed.err != nil {
			s.unflushedLocked(outs, failed.at, failed.from, failed.err)
		}
		if !s.loaded {
			return decided // a write or a sync failed: nothing more goes to the log
		}
	}
	s.appendLocked(outs)
	s.maybeSnapshot()
	return decided
}

// processNew handles a batch for a stream whose log does not exist: it
// decides on the empty state without a lock, and creates the log only if
// something is to be appended. If this process created the log and it is
// still empty once locked, no one else can have decided anything, so the
// decisions stand; otherwise it reports false with the cache reset, and the
// batch is decided again under the lock like any other.
func (s *stream) processNew(ctx context.Context, outs []outcome) (done bool) {
	s.reset()
	s.loaded = true
	if anything, _ := s.decideAll(ctx, outs, time.Time{}); !anything {
		if !s.e.cfg.Store.HasStream(s.id) {
			return true
		}
	} else if err := s.create(); err != nil {
		s.failAll(outs, err)
		return true
	}
	if s.created {
		s.created = false
		unlock, err := s.lock(ctx)
		if err == nil {
			defer unlock()
			c, err := s.w.Check(&eventlog.Tail{})
			if err == nil && c == eventlog.Same { // still empty
				s.appendLocked(outs)
				s.maybeSnapshot()
				s.retryConflictsLocked(ctx, outs, func(rest []outcome) { s.decideAppendLocked(ctx, rest, time.Time{}, nil) })
				return true
			}
		}
	}
	for i := range outs {
		outs[i].recs, outs[i].f = nil, nil
	}
	s.reset()
	if s.w == nil {
		if err := s.open(); err != nil || s.w == nil {
			s.failAll(outs, fmt.Errorf("open stream %s: %w", s.id, err))
			return true
		}
	}
	return false
}

// writeEager appends the lines just decided for outcome i, once the sync
// of the previous command is done, and starts their sync. A previous sync
// that failed is returned without writing.
func (s *stream) writeEager(i int) error {
	if f := s.eager.await(); f.err != nil {
		return f.err
	}
	size := s.tail.Offset - int64(len(s.pendingLines))
	if err := s.w.Append(s.pendingLines, size); err != nil {
		return err
	}
	s.pendingLines = s.pendingLines[:0]
	s.eager.start(i, size)
	return nil
}

// failFrom fails outcome i, whose lines were not all written or not made
// durable, and every later outcome that was decided on the state they
// left: one with records, a success without any, a rejection, a conflict
// or a duplicate. A failure that did not depend on the state stands. The
// lines not written are dropped, and so is the cache, which no longer
// matches the log: the next batch reads the log again.
func (s *stream) failFrom(outs []outcome, i int, err error) {
	f := AsFailure(err, KindIO)
	for k := i; k < len(outs); k++ {
		if o := &outs[k]; o.f == nil || o.f.Kind == KindRejected || o.f.Kind == KindConflict || o.f.Kind == KindDuplicate {
			o.recs, o.f = nil, f
		}
	}
	s.pendingLines = s.pendingLines[:0]
	s.reset()
}

// failAll fails every job of the batch that has not already failed on its
// own, and drops the cache, which may no longer match the log.
func (s *stream) failAll(outs []outcome, err error) {
	f := AsFailure(err, KindIO)
	for i := range outs {
		if outs[i].f == nil {
			outs[i].f = f
			outs[i].recs = nil
		}
	}
	s.pendingLines = s.pendingLines[:0]
	s.reset()
}

// decideAll asks the handler about each job in order, carrying the state
// from one to the next, and reports whether anything is to be appended
// and how many jobs it decided: after turnEnd (unless zero) it decides no
// more, leaving the rest untried.
func (s *stream) decideAll(ctx context.Context, outs []outcome, turnEnd time.Time) (anything bool, decided int) {
	s.pendingLines = s.pendingLines[:0]
	for i := range outs {
		if i > 0 && !turnEnd.IsZero() && time.Now().After(turnEnd) {
			return anything, i
		}
		o := &outs[i]
		if o.j.inject != nil {
			o.recs, o.f = s.injectOne(o.j)
		} else {
			o.recs, o.f = s.decideOne(ctx, o.j)
		}
		if len(o.recs) > 0 {
			anything = true
			if s.eager == nil {
				continue
			}
			if err := s.writeEager(i); err != nil {
				// The log is as it was before this command (or a sync
				// before it failed); later ones are not tried.
				s.failFrom(outs, i, err)
				for k := i + 1; k < len(outs); k++ {
					outs[k].recs, outs[k].f = nil, fail(KindIO, "not tried: an earlier append to %s failed", s.id)
				}
				return false, len(outs)
			}
		}
	}
	return anything, len(outs)
}
