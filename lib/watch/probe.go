package watch

import (
	"context"
	"errors"
	"io/fs"
	"runtime"
	"sync"

	"github.com/fold-es/fold/lib/record"
)

// probed is what probing a stream's log from its tail found: the cursor no
// longer matches (rewritten says how), there is nothing new (lf.fd < 0), or
// there are bytes past the tail to scan (lf is open, the tail's version
// counted).
type probed struct {
	path      string
	lf        logFile
	rewritten string
	err       error
}

// probe opens the log at path, checks it against t and counts t's version
// if something is to be read. It touches only t and buf, so probes of
// different streams run in parallel. For a log with nothing new it costs
// three system calls: open, one pread, close.
func probe(path string, t *tail, buf []byte) (probed, []byte) {
	pr := probed{path: path, lf: logFile{fd: -1}}
	lf, err := openLog(path)
	if errors.Is(err, fs.ErrNotExist) {
		if t.offset > 0 {
			pr.rewritten = "the stream no longer exists"
		}
		return pr, buf
	}
	if err != nil {
		pr.err = err
		return pr, buf
	}
	if t.offset == 0 {
		pr.lf = lf // from the start: the scan finds what there is
		return pr, buf
	}
	var c check
	c, buf, err = t.check(lf, buf)
	switch {
	case err != nil:
		pr.err = err
	case c == checkShort:
		pr.rewritten = "the log is shorter than the cursor"
	case c == checkChanged:
		pr.rewritten = "the line before the cursor is not the one the cursor names"
	case c == checkMore:
		if buf, err = t.count(lf, buf); err != nil {
			pr.err = err
			break
		}
		pr.lf = lf
		return pr, buf
	}
	lf.close()
	return pr, buf
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
			var pr probed
			pr, r.buf = probe(r.paths.of(id), tails[i], r.buf)
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
			var buf []byte
			for i := range jobs {
				var pr probed
				pr, buf = probe(r.paths.of(ids[i]), tails[i], buf)
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
						pr.lf.close()
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
		pr.lf.close()
	}
	return err
}
