package watch

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// errStopped ends a Follow whose store stopped notifying for good.
var errStopped = errors.New("store notifications stopped")

// Follow catches up as CatchUp does, delivering an Idle batch at the end
// even when nothing was read, then stays: each time selected logs grow or
// selected streams appear, it reads the new complete lines and delivers
// them, the last batch of each such round Idle. It learns of changes from
// the store (Store.Watch: for the file backend, its change journal and a
// few directories' notifications, see store.Root.Watch), or looks every
// Poll. Every record it delivers is durable: it flushes a log before
// reading what is new in it, or, where the store can flush everything at
// once (store.Syncer), the store before delivering a batch. Follow
// returns only with an error: ctx.Err() after a stop, fn's error, or the
// OnCorrupt/OnRewritten error.
func (s *Source) Follow(ctx context.Context, cursors map[string]record.Cursor, fn func(Batch) error) error {
	if s.Order == ByStore {
		return s.readOrdered(ctx, cursors, true, fn)
	}
	f := &follower{dirty: map[record.StreamID]bool{}}
	f.r = s.newReader(ctx, f.deliver(fn))
	// The watch is set up before the streams are listed, so nothing
	// appended or created from then on goes unnoticed.
	w, poll := s.watch(f.r.sel)
	if w != nil {
		defer w.Close()
	}
	// A store that cannot flush at once says so the first time.
	if sy, ok := s.Store.(store.Syncer); ok && !errors.Is(sy.SyncAll(), errors.ErrUnsupported) {
		f.syncer = sy
	}
	f.chooseFlush(math.MaxInt) // the catch-up reads every stream
	ids, tails, err := f.r.start(cursors)
	if err != nil {
		return err
	}
	f.tails = make(map[record.StreamID]*tail, len(ids))
	for i, id := range ids {
		f.tails[id] = tails[i]
	}
	if err := f.r.readAll(ids, tails); err != nil {
		return err
	}
	if err := f.r.b.flush(true); err != nil {
		return err
	}
	if st, ok := w.(store.Settler); ok {
		st.CaughtUp()
	}
	if w == nil {
		return f.pollLoop(ctx, poll)
	}
	return f.notifyLoop(ctx, w.Changes())
}

// watch sets up how Follow learns of changes: the store's notifications,
// else its polling watcher (store.Poller) every Poll or DefaultPoll, else
// nil and the interval at which Follow reads every selected log.
func (s *Source) watch(sel store.Selection) (store.Watcher, time.Duration) {
	poll := s.Poll
	if poll <= 0 {
		w, err := s.Store.Watch(sel, s.log())
		if err == nil {
			return w, 0
		}
		s.log().Warn("store notifications unavailable; polling", "every", DefaultPoll.String(), "err", err)
		poll = DefaultPoll
	}
	if p, ok := s.Store.(store.Poller); ok {
		w, err := p.Poll(sel, poll, s.log())
		if err == nil {
			return w, 0
		}
		s.log().Warn("store polling unavailable; reading every log", "every", poll.String(), "err", err)
	}
	return nil, poll
}

// follower is the state of one Follow: a tail per known stream and the
// streams to read in the next round.
type follower struct {
	r     *reader
	tails map[record.StreamID]*tail
	dirty map[record.StreamID]bool
	order []record.StreamID // dirty streams in the order they were seen

	// syncer flushes the whole store at once (nil: it cannot); syncBatch
	// is set while batches are made durable that way, rather than each
	// log as it is read.
	syncer    store.Syncer
	syncBatch bool
}

// syncAllFrom is how many streams a round must read for one flush of the
// whole store per batch to beat a flush per log: a flush of everything
// also writes back what other processes left dirty.
const syncAllFrom = 16

// chooseFlush decides, for a round reading n streams, how what it delivers
// is made durable: a flush of each log before it is read (Log.Durable),
// or one of the whole store before each batch is delivered.
func (f *follower) chooseFlush(n int) {
	f.syncBatch = f.syncer != nil && n >= syncAllFrom
	f.r.durable = !f.syncBatch
}

// deliver wraps the consumer's fn: a batch read without flushing each log
// is delivered after a flush of the store.
func (f *follower) deliver(fn func(Batch) error) func(Batch) error {
	return func(b Batch) error {
		if f.syncBatch && len(b.Records) > 0 {
			if err := f.syncer.SyncAll(); err != nil {
				return err
			}
		}
		return fn(b)
	}
}

func (f *follower) markDirty(id record.StreamID) {
	if !f.r.sel.Wants(id) || f.dirty[id] {
		return
	}
	f.dirty[id] = true
	f.order = append(f.order, id)
}

// change marks what a notification names to be read: not a stream read
// exactly as far as the notification says its log goes.
func (f *follower) change(c store.Change) {
	if !c.All {
		if t := f.tails[c.Stream]; c.Size > 0 && t != nil && t.pos.Offset == c.Size {
			return
		}
		f.markDirty(c.Stream)
		return
	}
	for id := range f.tails {
		f.markDirty(id)
	}
}

// round reads every dirty stream and delivers what it found.
func (f *follower) round() error {
	f.chooseFlush(len(f.order))
	for _, id := range f.order {
		t := f.tails[id]
		if t == nil {
			nt := newTail(record.Cursor{})
			t = &nt
			f.tails[id] = t
		}
		if err := f.r.read(id, t); err != nil {
			return err
		}
	}
	clear(f.dirty)
	f.order = f.order[:0]
	if f.r.b.round > 0 {
		return f.r.b.flush(true)
	}
	return nil
}

// pollLoop rediscovers the selected streams every interval and reads them
// all: a probe of a log with nothing new is one read.
func (f *follower) pollLoop(ctx context.Context, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		ids, err := f.r.discover()
		if err != nil {
			return err
		}
		for _, id := range ids {
			f.markDirty(id)
		}
		for id := range f.tails {
			f.markDirty(id)
		}
		if err := f.round(); err != nil {
			return err
		}
	}
}

// notifyLoop reads after each notification, taking every notification
// already queued (and, with Settle, those arriving within it) into one
// round.
func (f *follower) notifyLoop(ctx context.Context, changes <-chan store.Change) error {
	now := make(chan time.Time)
	close(now) // always ready: no settling
	for {
		var until <-chan time.Time // nil until the first change of a round
		for gather := true; gather; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case c, ok := <-changes:
				if !ok {
					return errStopped
				}
				f.change(c)
				if until == nil {
					until = now
					if d := f.r.s.Settle; d > 0 {
						until = time.After(d)
					}
				}
			case <-until:
				gather = false
			}
		}
		if err := f.drain(changes); err != nil {
			return err
		}
		if err := f.round(); err != nil {
			return err
		}
	}
}

// drain takes the notifications already queued: select picks among ready
// cases at random, so the gathering loop may end with some left.
func (f *follower) drain(changes <-chan store.Change) error {
	for {
		select {
		case c, ok := <-changes:
			if !ok {
				return errStopped
			}
			f.change(c)
		default:
			return nil
		}
	}
}
