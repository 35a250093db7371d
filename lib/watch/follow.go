package watch

import (
	"context"
	"errors"
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
// the store (Store.Watch: fsnotify on the root's directories for the file
// backend), or looks every Poll. Follow returns only with an error:
// ctx.Err() after a stop, fn's error, or the OnCorrupt/OnRewritten error.
func (s *Source) Follow(ctx context.Context, cursors map[string]record.Cursor, fn func(Batch) error) error {
	if s.Order == ByStore {
		return s.readOrdered(ctx, cursors, true, fn)
	}
	r := s.newReader(ctx, fn)
	r.durable = true
	// The watch is set up before the streams are listed, so nothing
	// appended or created from then on goes unnoticed.
	var w store.Watcher
	poll := s.Poll
	if poll <= 0 {
		var err error
		if w, err = s.Store.Watch(r.sel, s.log()); err != nil {
			s.log().Warn("store notifications unavailable; polling", "every", DefaultPoll.String(), "err", err)
			poll = DefaultPoll
		} else {
			defer w.Close()
		}
	}
	ids, tails, err := r.start(cursors)
	if err != nil {
		return err
	}
	f := &follower{r: r, tails: make(map[record.StreamID]*tail, len(ids)), dirty: map[record.StreamID]bool{}}
	for i, id := range ids {
		f.tails[id] = tails[i]
	}
	if err := r.readAll(ids, tails); err != nil {
		return err
	}
	if err := r.b.flush(true); err != nil {
		return err
	}
	if poll > 0 {
		return f.pollLoop(ctx, poll)
	}
	return f.notifyLoop(ctx, w.Changes())
}

// follower is the state of one Follow: a tail per known stream and the
// streams to read in the next round.
type follower struct {
	r     *reader
	tails map[record.StreamID]*tail
	dirty map[record.StreamID]bool
	order []record.StreamID // dirty streams in the order they were seen
}

func (f *follower) markDirty(id record.StreamID) {
	if !f.r.sel.Wants(id) || f.dirty[id] {
		return
	}
	f.dirty[id] = true
	f.order = append(f.order, id)
}

// change marks what a notification names to be read.
func (f *follower) change(c store.Change) {
	if !c.All {
		f.markDirty(c.Stream)
		return
	}
	for id := range f.tails {
		f.markDirty(id)
	}
}

// round reads every dirty stream and delivers what it found.
func (f *follower) round() error {
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
