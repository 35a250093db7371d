package watch

import (
	"errors"
	"runtime"
	"sync"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

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
	workers := max(2, runtime.GOMAXPROCS(0))
	founds := make([]int, workers)
	per := (len(ids) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := min(w*per, len(ids)), min((w+1)*per, len(ids))
		wg.Go(func() {
			var key []byte
			for i := lo; i < hi; i++ {
				id := ids[i]
				key = append(append(append(key[:0], id.Type...), '/'), id.ID...)
				c := cursors[string(key)]
				if c.Offset > 0 {
					founds[w]++
				}
				t := newTail(c)
				s, err := stats[id.Type](id.ID)
				if c.Offset <= 0 {
					// Read from its start: a log with no line, or none
					// at all (a directory made, its log not yet), has
					// nothing to read either.
					changed[i] = !(errors.Is(err, store.ErrNoStream) || err == nil && s.Size == 0)
					continue
				}
				changed[i] = err != nil || !unchangedBy(s, &t, r.s.Checked)
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
