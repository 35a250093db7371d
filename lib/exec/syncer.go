package exec

import "github.com/fold-es/fold/lib/store"

// syncer makes a batch's appends durable one command at a time in the
// background (--sync each), so that deciding the next command (a handler
// round trip) overlaps the fdatasync of the last instead of waiting for
// it. Every command still gets its own fdatasync, issued after its write,
// and its record is released (release) as soon as that sync is done.
//
// The next command's lines are written only once the sync before them is
// done (await): a write that lands while a sync is failing would sit past
// data the failed sync may have dropped, and a power cut before the log
// is cut back could leave it after a hole of zeros. After a failed sync
// none is tried again: what it was to flush may be gone from the page
// cache, and a later sync that succeeds would not bring it back.
type syncer struct {
	w      store.Writer
	cur    chan struct{} // closed when the sync in flight is done; nil when none
	failed flushFailure  // written by the sync in flight, read after cur is closed

	// release, if set, is called on the sync's goroutine after each sync
	// that succeeded, with the number of outcomes now durable.
	release func(upTo int)
}

// flushFailure is the first sync that failed: its error, the outcome and
// where that outcome's lines begin (the log is durable up to there).
type flushFailure struct {
	err  error
	at   int
	from int64
}

func newSyncer(w store.Writer) *syncer { return &syncer{w: w} }

// start syncs outcome i's lines, written at offset from, in the
// background. The sync before must be done (await).
func (sy *syncer) start(i int, from int64) {
	done := make(chan struct{})
	sy.cur = done
	go func() {
		defer close(done)
		if err := sy.w.Sync(); err != nil {
			sy.failed = flushFailure{err: err, at: i, from: from}
		} else if sy.release != nil {
			sy.release(i + 1)
		}
	}()
}

// await waits for the sync in flight, if any, and returns the first
// failure.
func (sy *syncer) await() flushFailure {
	if sy.cur != nil {
		<-sy.cur
		sy.cur = nil
	}
	return sy.failed
}
