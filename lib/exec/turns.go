package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
)

// Several processes may write one instance, taking turns at its writer
// lock (a flock), which is not fair: a writer waiting for it tries it now
// and then, and a writer with a long queue that let go and took it again
// at once would keep it for as long as its queue lasted. With --sync each,
// where every command waits for its own fdatasync, 8 processes of 2,000
// commands each on one instance saw a tenth of them fail with
// lock_timeout. So a waiting writer tries the lock at least every
// lockPoll, and a holding writer ends its turn: it stops taking commands
// once it has held the lock for a turn, and lets go for yieldGap before
// taking it again, long enough for every waiter to try it. A turn is
// short (busyTurn) when another writer was seen lately, long (soloTurn)
// when not, so a lone writer pays almost nothing for the pauses.
const (
	lockPoll = time.Millisecond
	busyTurn = 100 * time.Millisecond
	soloTurn = time.Second
	yieldGap = 3 * time.Millisecond
	// seenFor is how long a sign of another writer (waiting for the lock,
	// or finding the log grown under the cache) keeps turns short.
	seenFor = 2 * time.Second
	// waitedAfter is how long taking the lock may take without that being
	// a sign of another writer.
	waitedAfter = 200 * time.Microsecond
)

// lock takes the instance's writer lock, trying it at least every lockPoll
// while another process holds it, for up to LockTimeout.
func (s *stream) lock(ctx context.Context) (unlock func() error, err error) {
	timeout := s.e.cfg.LockTimeout
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		unlock, err = s.w.Lock(ctx, max(min(time.Until(deadline), lockPoll), 0))
		if err == nil {
			if time.Since(start) > waitedAfter {
				s.sawOther()
			}
			return unlock, nil
		}
		if !errors.Is(err, eventlog.ErrLockTimeout) {
			return nil, err
		}
		s.sawOther()
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s: held by another process for %s: %w", s.w.Name(), timeout, eventlog.ErrLockTimeout)
		}
	}
}

// sawOther notes a sign that another process writes this instance.
func (s *stream) sawOther() { s.otherSeen = time.Now() }

// turnEnd is when a turn at the lock that began at start ends.
func (s *stream) turnEnd(start time.Time) time.Time {
	if start.Sub(s.otherSeen) < seenFor {
		return start.Add(busyTurn)
	}
	return start.Add(soloTurn)
}
