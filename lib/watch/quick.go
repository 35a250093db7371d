package watch

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// quickBlock is how many streams a worker stats at a time.
const quickBlock = 512

// quickMax is the share of the streams (one in quickMax) that may need
// reading for quick's list of them to be worth keeping; past it, the
// catch-up probes every stream the usual way.
const quickMax = 4

// quick is a catch-up's first look when the cursors are vouched for
// (Source.Checked) and the store can list its stream directories: one
// stat per stream (unchanged), spread over the cores, with no registry
// read and no log opened. done reports that no selected stream has
// anything to read: the catch-up is over. Otherwise need holds the
// streams to read, in whatever order (nil: all of them), and the
// catch-up goes on in discovery order, skipping the others; a stream
// appended to after its stat here is then as if appended to after the
// catch-up, as with any catch-up.
func (r *reader) quick(cursors map[string]record.Cursor) (done bool, need map[record.StreamID]bool, err error) {
	lister, ok := r.s.Store.(interface {
		store.StreamLister
		store.LogStater
	})
	if r.s.Checked.IsZero() || len(r.s.Streams) > 0 || !ok {
		return false, nil, nil
	}
	all, err := lister.StreamDirs(r.sel.TypeList()...)
	if err != nil {
		return false, nil, err
	}
	ids := all[:0]
	for _, id := range all {
		if r.sel.Wants(id) {
			ids = append(ids, id)
		}
	}
	// The stats of a type's logs, shared by the workers.
	stats := map[string]func(string) (store.LogStat, error){}
	for _, id := range ids {
		if stats[id.Type] == nil {
			stat, done := lister.TypeStater(id.Type)
			defer done()
			stats[id.Type] = stat
		}
	}
	changed := make([]bool, len(ids))
	// The workers take blocks of streams in turn, so one slowed down
	// (another process on its core) leaves the rest to the others.
	workers := max(2, runtime.GOMAXPROCS(0))
	founds := make([]int, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var key []byte
			for {
				lo := int(next.Add(quickBlock)) - quickBlock
				if lo >= len(ids) || r.ctx.Err() != nil {
					return
				}
				founds[w] += r.statBlock(ids[lo:min(lo+quickBlock, len(ids))], changed[lo:], cursors, stats, &key)
			}
		})
	}
	wg.Wait()
	if err := r.ctx.Err(); err != nil {
		return false, nil, err
	}
	found := 0
	for _, n := range founds {
		found += n
	}
	need = map[record.StreamID]bool{}
	for i, ch := range changed {
		if !ch {
			continue
		}
		if len(need) >= len(ids)/quickMax {
			return false, nil, nil
		}
		need[ids[i]] = true
	}
	if len(need) > 0 {
		return false, need, nil
	}
	if err := r.checkGone(ids, cursors, found); err != nil {
		return false, nil, err
	}
	r.s.log().Debug("read every stream", "streams", len(ids), "unchanged", len(ids))
	return true, nil, nil
}

// statBlock stats ids, setting changed[i] for each that may have something
// to read, and returns how many of them have a cursor.
func (r *reader) statBlock(ids []record.StreamID, changed []bool, cursors map[string]record.Cursor,
	stats map[string]func(string) (store.LogStat, error), key *[]byte) (found int) {
	for i, id := range ids {
		*key = append(append(append((*key)[:0], id.Type...), '/'), id.ID...)
		c := cursors[string(*key)]
		if c.Offset > 0 {
			found++
		}
		t := newTail(c)
		s, err := stats[id.Type](id.ID)
		if c.Offset <= 0 {
			// Read from its start: a log with no line, or none at all
			// (a directory made, its log not yet), has nothing to read
			// either.
			changed[i] = !(errors.Is(err, store.ErrNoStream) || err == nil && s.Size == 0)
			continue
		}
		changed[i] = err != nil || !unchangedBy(s, &t, r.s.Checked)
	}
	return found
}
