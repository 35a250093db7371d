package watch

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// probed is what probing a stream's log from its tail found: the position
// no longer holds (rewritten says how), there is nothing new (lg is nil),
// or there is something past the tail to scan (lg is open, the tail's
// version counted).
type probed struct {
	lg        store.Log
	rewritten string
	err       error
	unchanged bool // known from a stat alone (see unchanged)
}

// probe opens id's log, checks it against t and counts t's version if
// something is to be read. It touches only t, so probes of different
// streams run in parallel. For a log with nothing new the file backend
// spends three system calls: open, one pread, close; one stat when the
// log is unchanged since checked (see unchanged).
func probe(st store.Store, id record.StreamID, t *tail, checked time.Time) probed {
	var pr probed
	if unchanged(st, id, t, checked) {
		pr.unchanged = true
		return pr
	}
	lg, err := st.OpenLog(id)
	if errors.Is(err, store.ErrNoStream) {
		if t.pos.Offset > 0 {
			pr.rewritten = "the stream no longer exists"
		}
		return pr
	}
	if err != nil {
		pr.err = err
		return pr
	}
	if t.pos.Offset == 0 {
		pr.lg = lg // from the start: the scan finds what there is
		return pr
	}
	c, err := lg.Check(&t.pos)
	switch {
	case err != nil:
		pr.err = err
	case c == eventlog.Short:
		pr.rewritten = "the log is shorter than the cursor"
	case c == eventlog.Changed:
		pr.rewritten = "the line before the cursor is not the one the cursor names"
	case c == eventlog.More:
		if !t.counted {
			if err := lg.Count(&t.pos); err != nil {
				pr.err = err
				break
			}
			t.counted = true
		}
		pr.lg = lg
		return pr
	}
	_ = lg.Close()
	return pr
}

// ChangeMargin is how much older than Source.Checked a log's change time
// must be for the log to be taken as unchanged since then. File times come
// from the kernel's coarse clock, a tick (a few ms) behind the clock
// Checked was read from; the rest is room for a file system whose clock
// is a little off ours.
const ChangeMargin = 2 * time.Second

// unchanged reports whether t's log is known, from one stat, to hold
// nothing past t and to be as it was when t was checked: t is the
// consumer's cursor as given (not moved by a read in this run: then it
// is counted), checked vouches for it, and the log is exactly t's offset
// long and has not changed since checked. An append makes the log longer;
// any rewrite, truncation, copy or rename moves its change time, which no
// one can set back. Anything else, or a store that cannot stat, is left
// to the full check.
func unchanged(st store.Store, id record.StreamID, t *tail, checked time.Time) bool {
	ls, ok := st.(store.LogStater)
	if !ok || !mayVouch(t, checked) {
		return false
	}
	s, err := ls.StatLog(id)
	return err == nil && unchangedBy(s, t, checked)
}

// mayVouch reports whether checked can vouch for t: a cursor as the
// consumer gave it (not moved by a read in this run: then it is counted).
func mayVouch(t *tail, checked time.Time) bool {
	return !checked.IsZero() && t.pos.Offset > 0 && !t.counted
}

// unchangedBy is unchanged's verdict on the log's stat s.
func unchangedBy(s store.LogStat, t *tail, checked time.Time) bool {
	return s.Size == t.pos.Offset && !s.Changed.IsZero() && s.Changed.Before(checked.Add(-ChangeMargin))
}

// Probing ahead: below probeMin streams it is not worth the goroutines;
// at most probeWindow streams are probed ahead of the one being read,
// which bounds the logs held open.
const (
	probeMin    = 64
	probeWindow = 256
)

// probeAhead probes ids[i] with tails[i], in parallel and ahead, and
// calls use for each in order. Logs probed but not used (after an error)
// are closed.
func (r *reader) probeAhead(ids []record.StreamID, tails []*tail, use func(int, probed) error) error {
	if len(ids) < probeMin {
		for i, id := range ids {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			pr := probe(r.s.Store, id, tails[i], r.s.Checked)
			if err := use(i, pr); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		i  int
		pr probed
	}
	ctx, cancel := context.WithCancel(r.ctx)
	tokens := make(chan struct{}, probeWindow)
	jobs := make(chan int)
	results := make(chan result, probeWindow)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		for i := range ids {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for range max(2, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range jobs {
				pr := probe(r.s.Store, ids[i], tails[i], r.s.Checked)
				results <- result{i, pr} // never blocks: a token per result
			}
		})
	}
	pending := make(map[int]probed, probeWindow)
	err := func() error {
		for next := range ids {
			for {
				if pr, ok := pending[next]; ok {
					delete(pending, next)
					if err := r.ctx.Err(); err != nil {
						pr.close()
						return err
					}
					if err := use(next, pr); err != nil {
						return err
					}
					break
				}
				res := <-results
				pending[res.i] = res.pr
			}
			<-tokens
		}
		return nil
	}()
	cancel()
	wg.Wait()
	close(results)
	for res := range results {
		pending[res.i] = res.pr
	}
	for _, pr := range pending {
		pr.close()
	}
	return err
}

func (pr probed) close() {
	if pr.lg != nil {
		_ = pr.lg.Close()
	}
}
