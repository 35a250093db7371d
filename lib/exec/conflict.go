package exec

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/fold-es/fold/lib/store"
)

// maxConflictBackoff bounds the random pause before a batch that lost to
// another writer is decided again. The pauses grow (1, 2, 4 … ms) so that
// two writers that keep colliding spread out.
const maxConflictBackoff = 64 * time.Millisecond

// retryConflictsLocked follows a pass that decided and appended outs:
// whenever the store said another writer appended first
// (store.ErrConflict, from a backend whose lock does not reach other
// machines: JetStream), it reads the log again and runs pass on the
// outcomes not appended yet, which were decided on a state that is no
// longer the log's. Nothing is ever appended on a stale state: the store
// refused it. The writer lock must be held.
//
// It goes on for up to --lock-timeout, as a writer waits for a file lock
// held elsewhere: losing to another writer is waiting for one's turn, and
// a writer fed without pause (a bulk load) may win many times in a row.
// Past that, the commands fail as lock_timeout (retryable, exit 75).
func (s *stream) retryConflictsLocked(ctx context.Context, outs []outcome, pass func([]outcome)) {
	deadline := time.Now().Add(s.e.cfg.LockTimeout)
	for attempt := 1; ; attempt++ {
		k := redoFrom(outs)
		if k < 0 {
			return
		}
		rest := outs[k:]
		if time.Now().After(deadline) || ctx.Err() != nil {
			// Other writers kept getting in first: as with a lock held
			// elsewhere, running again later may succeed.
			for _, o := range rest {
				if o.f != nil && errors.Is(o.f, store.ErrConflict) {
					o.f.Kind = KindLockTimeout
				}
			}
			return
		}
		s.e.cfg.Log.Debug("another writer appended first; deciding again", "stream", s.id.String(), "attempt", attempt)
		for i := range rest {
			rest[i].recs, rest[i].f = nil, nil
		}
		// Two writers that collided would likely collide again at once.
		time.Sleep(time.Duration(rand.Int64N(int64(min(time.Millisecond<<min(attempt, 16), maxConflictBackoff)))))
		s.reset()
		if err := s.refreshLocked(ctx); err != nil {
			s.failAll(rest, err)
			return
		}
		pass(rest)
	}
}

// redoFrom returns where deciding must start again after a pass in which
// an append met store.ErrConflict: just past the last outcome whose
// events were appended. It returns -1 when no append met a conflict.
func redoFrom(outs []outcome) int {
	appended, conflict := -1, false
	for i, o := range outs {
		switch {
		case o.f != nil && errors.Is(o.f, store.ErrConflict):
			conflict = true
		case o.f == nil && len(o.recs) > 0:
			appended = i
		}
	}
	if !conflict {
		return -1
	}
	return appended + 1
}
