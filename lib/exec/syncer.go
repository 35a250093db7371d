package exec

import "github.com/fold-es/fold/lib/store"

// syncer makes a batch's appends durable one command at a time on its own
// goroutine (--sync each), so that deciding and writing the next command
// overlaps the fdatasync of the last instead of waiting for it. Every
// command still gets its own fdatasync, issued after its write, and its
// record is released (release) as soon as that sync is done.
type syncer struct {
	w    store.Writer
	reqs chan int // indexes of outcomes whose lines were written
	done chan struct{}

	// release, if set, is called on the goroutine after each sync that
	// succeeded, with the number of outcomes now durable.
	release func(upTo int)

	// Set by the goroutine, read after done.
	err      error
	failedAt int // first outcome whose sync failed
}

func newSyncer(w store.Writer, n int) *syncer {
	sy := &syncer{w: w, reqs: make(chan int, n), done: make(chan struct{})}
	go func() {
		defer close(sy.done)
		for i := range sy.reqs {
			if sy.err != nil {
				continue
			}
			if err := sy.w.Sync(); err != nil {
				sy.err, sy.failedAt = err, i
			} else if sy.release != nil {
				sy.release(i + 1)
			}
		}
	}()
	return sy
}

// wait returns once every queued sync is done: the first failure, and the
// outcome it failed at.
func (sy *syncer) wait() (err error, failedAt int) {
	close(sy.reqs)
	<-sy.done
	return sy.err, sy.failedAt
}
