package exec

import (
	"sync"

	"github.com/fold-es/fold/lib/store"
)

// SyncMode says when appended events are made durable.
type SyncMode string

// The --sync modes.
const (
	SyncEach  SyncMode = "each"  // fdatasync after every command
	SyncBatch SyncMode = "batch" // one flush for every group of commands ready together
	SyncNone  SyncMode = "none"  // leave it to the kernel
)

// ParseSyncMode checks a --sync value.
func ParseSyncMode(s string) (SyncMode, error) {
	switch m := SyncMode(s); m {
	case SyncEach, SyncBatch, SyncNone:
		return m, nil
	}
	return "", fail(KindInvalid, "--sync %q is not one of each, batch, none", s)
}

// committer is group commit across actors: writers that have appended ask
// it to make their logs durable, and every request that arrives while a
// flush is running is served by the next single flush, which the store
// does as cheaply as it can for the whole group (Store.SyncWriters: one
// syncfs(2) for many files in the file backend).
type committer struct {
	store store.Store

	mu      sync.Mutex
	pending []*commitReq
	running bool
}

type commitReq struct {
	w    store.Writer
	done chan error
}

// sync blocks until w's appended data is durable.
func (c *committer) sync(w store.Writer) error {
	r := &commitReq{w: w, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, r)
	if !c.running {
		c.running = true
		go c.loop()
	}
	c.mu.Unlock()
	return <-r.done
}

func (c *committer) loop() {
	var ws []store.Writer
	for {
		c.mu.Lock()
		group := c.pending
		c.pending = nil
		if len(group) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		ws = ws[:0]
		for _, r := range group {
			ws = append(ws, r.w)
		}
		err := c.store.SyncWriters(ws)
		clear(ws)
		for _, r := range group {
			r.done <- err
		}
	}
}
