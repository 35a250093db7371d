package exec

import "github.com/fold-es/fold/lib/store"

// syncer makes a batch's appends durable one command at a time on its own
// goroutine (--sync each), so that deciding and writing the next command
// overlaps the fdatasync of the last instead of waiting for it. Every
// command still gets its own fdatasync, issued after its write, and no
// record is released before the batch's syncs are done. After a failed
// sync none is tried again: what it was to flush may be gone from the
// page cache, and a later sync that succeeds would not bring it back.
type syncer struct {
	w    store.Writer
	reqs chan flushReq
	done chan struct{}

	// Set by the goroutine, read after done.
	failed flushFailure
}

// flushReq asks for outcome i's lines, written at offset from, to be made
// durable.
type flushReq struct {
	i    int
	from int64
}

// flushFailure is the first sync that failed: its error, the outcome and
// where that outcome's lines begin (the log is durable up to there).
type flushFailure struct {
	err  error
	at   int
	from int64
}

func newSyncer(w store.Writer, n int) *syncer {
	sy := &syncer{w: w, reqs: make(chan flushReq, n), done: make(chan struct{})}
	go func() {
		defer close(sy.done)
		for r := range sy.reqs {
			if sy.failed.err != nil {
				continue
			}
			if err := sy.w.Sync(); err != nil {
				sy.failed = flushFailure{err: err, at: r.i, from: r.from}
			}
		}
	}()
	return sy
}

// wait returns once every queued sync is done, with the first failure.
func (sy *syncer) wait() flushFailure {
	close(sy.reqs)
	<-sy.done
	return sy.failed
}
