package pm

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// FlushDelay is how long written output may wait in the buffer before it
// is flushed on its own. Flushing every line would hand a downstream
// fold-exec one command at a time and defeat its group commit; never
// flushing until the end of a batch would hold back commands while the
// handler is slow on a later record. So output goes out in one write per
// FlushDelay under load, and within FlushDelay when the handler stalls.
const FlushDelay = 2 * time.Millisecond

// flusher is a buffered writer that also flushes itself FlushDelay after
// the first write that left something unflushed. It is safe for the one
// writer and its timer.
type flusher struct {
	mu    sync.Mutex
	w     *bufio.Writer
	timer *time.Timer
	armed bool  // a timed flush is due
	err   error // the first failed flush, returned by every later call
}

func newFlusher(w io.Writer) *flusher {
	f := &flusher{w: bufio.NewWriterSize(w, 64<<10)}
	f.timer = time.AfterFunc(time.Hour, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.armed = false
		f.flushLocked()
	})
	f.timer.Stop()
	return f
}

// Write buffers p and makes sure a timed flush is due.
func (f *flusher) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
		return n, err
	}
	if !f.armed && f.w.Buffered() > 0 {
		f.armed = true
		f.timer.Reset(FlushDelay)
	}
	return n, nil
}

// Flush writes out what is buffered now.
func (f *flusher) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushLocked()
}

// flushLocked flushes; f.mu must be held.
func (f *flusher) flushLocked() error {
	if f.err == nil {
		f.err = f.w.Flush()
	}
	return f.err
}

// Stop cancels a timed flush that is due.
func (f *flusher) Stop() { f.timer.Stop() }
