package watch

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/fold-es/fold/lib/record"
)

// Follow catches up as CatchUp does, delivering an Idle batch at the end
// even when nothing was read, then stays: each time selected logs grow or
// selected streams appear, it reads the new complete lines and delivers
// them, the last batch of each such round Idle. It watches the root with
// fsnotify (the root, streams/, each type's and each stream's directory:
// directories survive the rename-replace of a file and tell of new
// children), or polls every Poll. Follow returns only with an error:
// ctx.Err() after a stop, fn's error, or the OnCorrupt/OnRewritten error.
func (s *Source) Follow(ctx context.Context, cursors map[string]record.Cursor, fn func(Batch) error) error {
	r := s.newReader(ctx, fn)
	r.durable = true
	ids, tails, err := r.start(cursors)
	if err != nil {
		return err
	}
	f := &follower{r: r, tails: make(map[record.StreamID]*tail, len(ids)), dirty: map[record.StreamID]bool{}}
	for i, id := range ids {
		f.tails[id] = tails[i]
	}
	// Watches are set up before the catch-up reads anything, so nothing
	// appended or created during it is missed.
	poll := s.Poll
	if poll <= 0 {
		if err := f.notify(); err != nil {
			s.log().Warn("file notifications unavailable; polling", "every", DefaultPoll.String(), "err", err)
			poll = DefaultPoll
		}
	}
	defer f.close()
	if err := r.readAll(ids, tails); err != nil {
		return err
	}
	if err := r.b.flush(true); err != nil {
		return err
	}
	if poll > 0 {
		return f.pollLoop(ctx, poll)
	}
	return f.notifyLoop(ctx)
}

// follower is the state of one Follow: a tail per known stream and the
// streams to read in the next round.
type follower struct {
	r     *reader
	tails map[record.StreamID]*tail
	dirty map[record.StreamID]bool
	order []record.StreamID // dirty streams in the order they were seen
	tree  *tree             // nil when polling
}

func (f *follower) close() {
	if f.tree != nil {
		f.tree.close()
	}
}

func (f *follower) markDirty(id record.StreamID) {
	if !f.r.sel.wants(id) || f.dirty[id] {
		return
	}
	f.dirty[id] = true
	f.order = append(f.order, id)
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

// pollLoop rediscovers the selected streams every interval and reads those
// whose log changed size (or vanished).
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
			if f.tails[id] == nil {
				f.markDirty(id)
			}
		}
		for id, t := range f.tails {
			st, err := os.Stat(f.r.s.Root.LogPath(id))
			switch {
			case err == nil && st.Size() != t.offset:
				f.markDirty(id)
			case errors.Is(err, os.ErrNotExist) && t.offset > 0:
				f.markDirty(id)
			}
		}
		if err := f.round(); err != nil {
			return err
		}
	}
}

// notifyLoop reads after each notification, taking every notification
// already queued (and, with Settle, those arriving within it) into one
// round.
func (f *follower) notifyLoop(ctx context.Context) error {
	w := f.tree.w
	if err := f.round(); err != nil { // streams the watch setup found
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.event(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.watchError(err)
		}
		if d := f.r.s.Settle; d > 0 {
			if err := f.settle(ctx, d); err != nil {
				return err
			}
		}
		if err := f.drain(); err != nil {
			return err
		}
		if err := f.round(); err != nil {
			return err
		}
	}
}

// settle takes notifications for d more.
func (f *follower) settle(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case ev, ok := <-f.tree.w.Events:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.event(ev)
		case err, ok := <-f.tree.w.Errors:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.watchError(err)
		}
	}
}

// drain takes the notifications already queued.
func (f *follower) drain() error {
	for {
		select {
		case ev, ok := <-f.tree.w.Events:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.event(ev)
		case err, ok := <-f.tree.w.Errors:
			if !ok {
				return errors.New("file notifications stopped")
			}
			f.watchError(err)
		default:
			return nil
		}
	}
}

func (f *follower) watchError(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		f.r.s.log().Info("file notifications overflowed; rescanning")
	} else {
		f.r.s.log().Warn("file notification error; rescanning", "err", err)
	}
	// Notifications may have been lost: look at everything.
	f.rescanOrWarn()
	for id := range f.tails {
		f.markDirty(id)
	}
}
