package projection

import (
	"sync"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// pipeline applies batches on a goroutine of its own, so the next batch is
// read from the logs (scanned, hashed, checked) while the handler works on
// this one. The handler still sees one batch at a time, in order: each
// request carries the state the previous answer gave. At most two batches
// are held (one applied, one waiting), so memory stays bounded.
type pipeline struct {
	r    *Runner
	work chan *held
	free chan *held
	done chan struct{}
	busy sync.WaitGroup

	mu  sync.Mutex
	err error // the first failure; later batches are dropped
}

// held is a batch copied out of the watch's buffers, which are reused as
// soon as the callback returns.
type held struct {
	recs  []record.Record
	arena []byte
	array []byte // the records as a request's JSON array, for DecodeAhead; nil if not written
	buf   []byte // array's, reused
}

func newPipeline(r *Runner) *pipeline {
	p := &pipeline{r: r, work: make(chan *held, 1), free: make(chan *held, 2), done: make(chan struct{})}
	p.free <- &held{}
	p.free <- &held{}
	go p.run()
	return p
}

func (p *pipeline) run() {
	defer close(p.done)
	for h := range p.work {
		if p.failed() == nil {
			if err := p.r.apply(h.recs, h.array); err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
		}
		p.busy.Done()
		p.free <- h
	}
}

func (p *pipeline) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// submit copies recs and queues them, waiting while two batches are held.
// It returns the failure of an earlier batch, if any.
func (p *pipeline) submit(recs []record.Record) error {
	if err := p.failed(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	h := <-p.free
	h.recs, h.arena, h.array = h.recs[:0], h.arena[:0], nil
	for _, r := range recs {
		start := len(h.arena)
		h.arena = append(h.arena, r.Event...)
		r.Event = h.arena[start:len(h.arena):len(h.arena)]
		h.recs = append(h.recs, r)
	}
	if c := p.r.Proj.h; handler.DecodesAhead(c) {
		// The handler decodes this batch while it runs the one before.
		h.buf = appendArray(h.buf[:0], recs)
		h.array = h.buf
		handler.DecodeAhead(c, h.array)
	}
	p.busy.Add(1)
	p.work <- h
	return nil
}

// wait returns once every queued batch is applied (or dropped after a
// failure), with the first failure.
func (p *pipeline) wait() error {
	p.busy.Wait()
	return p.failed()
}

// close stops the goroutine; queued batches are applied first.
func (p *pipeline) close() {
	close(p.work)
	<-p.done
}

// appendArray appends recs as the JSON array of a project request, as
// Projection.Apply writes it when its cursors cover none of them.
func appendArray(dst []byte, recs []record.Record) []byte {
	return append(appendRecords(append(dst, '['), recs), ']')
}

// appendRecords appends recs as JSON, separated by commas.
func appendRecords(dst []byte, recs []record.Record) []byte {
	for i, r := range recs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = record.AppendRecord(dst, r)
	}
	return dst
}
