package jetstream

import (
	"slices"
	"sync"
)

// ref is where one message lies: its sequence and its bytes in the log.
type ref struct {
	seq        uint64
	start, end int64
}

// bounds remembers where some messages of each stream lie, so that a
// position (a snapshot's, a cursor's, a cached tail) is found by reading
// a few messages from a known one instead of the stream from its start.
// JetStream finds messages by sequence, never by a header, and the
// offsets fold's positions hold are in headers. Memory stays bounded: a
// stream keeps at most maxRefs messages, thinned evenly as it grows, and
// the whole map is dropped past maxSubjects streams.
type bounds struct {
	mu sync.Mutex
	m  map[string][]ref // by subject, sorted by start
}

const (
	maxRefs     = 32
	maxSubjects = 1 << 14
)

func newBounds() *bounds { return &bounds{m: map[string][]ref{}} }

// add notes m, a message of subject.
func (b *bounds) add(subject string, m *msg) {
	r := ref{seq: m.seq, start: m.start, end: m.end()}
	b.mu.Lock()
	defer b.mu.Unlock()
	rs, ok := b.m[subject]
	if !ok && len(b.m) >= maxSubjects {
		clear(b.m)
	}
	i, found := slices.BinarySearchFunc(rs, r.start, func(x ref, start int64) int {
		switch {
		case x.start < start:
			return -1
		case x.start > start:
			return 1
		}
		return 0
	})
	if found {
		rs[i] = r
		b.m[subject] = rs
		return
	}
	rs = slices.Insert(rs, i, r)
	if len(rs) > maxRefs {
		// Keep every other one, and the last: the newest positions are
		// the ones asked for most.
		kept := rs[:0]
		for k, x := range rs {
			if k%2 == 0 || k == len(rs)-1 {
				kept = append(kept, x)
			}
		}
		rs = kept
	}
	b.m[subject] = rs
}

// before returns the known message of subject that starts last at or
// before off.
func (b *bounds) before(subject string, off int64) (ref, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.m[subject]
	i, _ := slices.BinarySearchFunc(rs, off+1, func(x ref, v int64) int {
		if x.start < v {
			return -1
		}
		return 1
	})
	if i == 0 {
		return ref{}, false
	}
	return rs[i-1], true
}

// at returns the known message of subject that ends at end.
func (b *bounds) at(subject string, end int64) (ref, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.m[subject] {
		if r.end == end {
			return r, true
		}
	}
	return ref{}, false
}

// drop forgets subject: its messages were deleted or were not where
// they were thought to be.
func (b *bounds) drop(subject string) {
	b.mu.Lock()
	delete(b.m, subject)
	b.mu.Unlock()
}
