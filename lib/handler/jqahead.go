package handler

import (
	"slices"
	"strings"
	"sync"
)

// DecodesAhead reports whether c decodes arrays ahead (see DecodeAhead):
// whether it is worth building them for it.
func DecodesAhead(c Caller) bool {
	p, ok := c.(*Pool)
	return ok && p.jq != nil
}

// DecodeAhead hands an in-process jq handler the JSON array that a request
// to come holds as one of its values (a project request's records), to
// decode now, on goroutines of its own; the request that holds these very
// bytes takes the decoded value instead of decoding them again. A
// projection calls it with its next batch while the handler runs the
// program on this one: decoding, a third of the handler's time, then
// overlaps the program's run, which must wait for the previous state.
// What the request decodes to is the same either way; bytes that no
// request holds only cost the work. For other handlers it does nothing.
func DecodeAhead(c Caller, array []byte) {
	if p, ok := c.(*Pool); ok && p.jq != nil && len(array) > 0 && array[0] == '[' {
		p.jq.ahead.add(array)
	}
}

// maxAhead is how many arrays decoded ahead are kept for a request to
// take: the oldest goes first, so arrays no request takes cost bounded
// memory. A projection has at most two batches in hand.
const maxAhead = 4

// aheads are the arrays decoded ahead, for requests to take. They are
// safe for concurrent use.
type aheads struct {
	mu      sync.Mutex
	pending []*ahead // oldest first
}

// ahead is one array, decoded once done is closed.
type ahead struct {
	src  string
	done chan struct{}
	v    any
	err  error // not valid JSON: a request that holds it decodes it, and says where
}

func (a *aheads) add(b []byte) {
	e := &ahead{src: string(b), done: make(chan struct{})}
	a.mu.Lock()
	if len(a.pending) == maxAhead {
		a.pending = slices.Delete(a.pending, 0, 1)
	}
	a.pending = append(a.pending, e)
	a.mu.Unlock()
	go func() {
		defer close(e.done)
		// At the depth of a request's arrays, as the request would decode
		// it. On one goroutine: the program's run, which this overlaps,
		// has the other core, and a parallel decode first scans the
		// array for where its elements are (a twentieth of a
		// projection's time).
		d := valueDecoder{s: e.src}
		if e.v, e.err = d.array(2); e.err == nil && d.i != len(d.s) {
			e.err = d.errorf("more than one value")
		}
	}()
}

// take returns the value of the array s starts with, and its length, when
// it was decoded ahead; it waits for the decoding to end. An array is
// taken once.
func (a *aheads) take(s string) (v any, n int, ok bool) {
	a.mu.Lock()
	var e *ahead
	for i, p := range a.pending {
		// A JSON array ends where it ends: a request whose value starts
		// with a whole array holds that array.
		if strings.HasPrefix(s, p.src) {
			e = p
			a.pending = slices.Delete(a.pending, i, i+1)
			break
		}
	}
	a.mu.Unlock()
	if e == nil {
		return nil, 0, false
	}
	<-e.done
	if e.err != nil {
		return nil, 0, false
	}
	return e.v, len(e.src), true
}
