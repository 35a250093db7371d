package exec

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/eventlog"
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

// syncfsThreshold is how many distinct files a group must touch before one
// syncfs(2) of the whole filesystem is cheaper than an fdatasync per file.
const syncfsThreshold = 4

// committer is group commit across actors: writers that have appended ask
// it to make their files durable, and every request that arrives while a
// flush is running is served by the next single flush. One file gets an
// fdatasync; many files get one syncfs(2), which also covers the new
// directories and registry lines of streams created in the group.
type committer struct {
	rootDir string
	rootFD  int // an open descriptor on the root, for syncfs; -1 until it exists

	mu      sync.Mutex
	pending []*commitReq
	running bool
}

type commitReq struct {
	w    *eventlog.File
	dirs []string // directories to fsync when no syncfs covers them
	done chan error
}

func newCommitter(rootDir string) *committer {
	return &committer{rootDir: rootDir, rootFD: -1}
}

// openRoot opens the root on first need: a run may start before the
// root exists. Only the committer loop calls it.
func (c *committer) openRoot() int {
	if c.rootFD < 0 {
		if fd, err := unix.Open(c.rootDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			c.rootFD = fd
		}
	}
	return c.rootFD
}

func (c *committer) close() {
	if c.rootFD >= 0 {
		_ = unix.Close(c.rootFD)
	}
}

// sync blocks until w's appended data, and dirs, are durable.
func (c *committer) sync(w *eventlog.File, dirs []string) error {
	r := &commitReq{w: w, dirs: dirs, done: make(chan error, 1)}
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
		err := c.flush(group)
		for _, r := range group {
			r.done <- err
		}
	}
}

func (c *committer) flush(group []*commitReq) error {
	files := make(map[*eventlog.File]bool, len(group))
	for _, r := range group {
		files[r.w] = true
	}
	dirs := 0
	for _, r := range group {
		dirs += len(r.dirs)
	}
	if len(files)+dirs >= syncfsThreshold && c.openRoot() >= 0 {
		for {
			err := unix.Syncfs(c.rootFD)
			if err == unix.EINTR {
				continue
			}
			if err == nil {
				return nil
			}
			break // fall back to one flush per file
		}
	}
	for w := range files {
		if err := w.Sync(); err != nil {
			return err
		}
	}
	for _, r := range group {
		for _, d := range r.dirs {
			if err := store.SyncDir(d); err != nil {
				return err
			}
		}
	}
	return nil
}
