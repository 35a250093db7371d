package crashfs

import (
	"io/fs"
	"os"
	"syscall"
)

// file is an open file: a node, how it was opened and where the next
// write goes when not appending.
type file struct {
	fs     *FS
	n      *node
	name   string
	flag   int
	pos    int64
	closed bool
}

func (h *file) Name() string { return h.name }

func (h *file) check(op string, write bool) error {
	switch {
	case h.closed:
		return pathError(op, h.name, fs.ErrClosed)
	case write && h.flag&(os.O_WRONLY|os.O_RDWR) == 0:
		return pathError(op, h.name, syscall.EBADF)
	case h.n.dir && op != "sync":
		return pathError(op, h.name, syscall.EISDIR)
	}
	return nil
}

func (h *file) Pread(p []byte, off int64) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.check("read", false); err != nil {
		return 0, err
	}
	if err := h.fs.ask(Op{Kind: Read, Path: h.name}); err != nil {
		return 0, pathError("read", h.name, err)
	}
	if off < 0 {
		return 0, pathError("read", h.name, syscall.EINVAL)
	}
	if off >= int64(len(h.n.data)) {
		return 0, nil
	}
	return copy(p, h.n.data[off:]), nil
}

func (h *file) Write(p []byte) (int, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.check("write", true); err != nil {
		return 0, err
	}
	op := Op{Kind: Write, Path: h.name}
	if err := h.fs.ask(op); err != nil {
		return 0, pathError("write", h.name, err)
	}
	off := h.pos
	if h.flag&os.O_APPEND != 0 {
		off = int64(len(h.n.data))
	}
	c := change{off: off, data: append([]byte(nil), p...), size: -1}
	h.n.data = c.applyTo(h.n.data)
	h.n.writes = append(h.n.writes, c)
	h.pos = off + int64(len(p))
	h.fs.changed(op)
	return len(p), nil
}

func (h *file) Size() (int64, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return 0, pathError("stat", h.name, fs.ErrClosed)
	}
	return int64(len(h.n.data)), nil
}

func (h *file) Truncate(size int64) error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if err := h.check("truncate", true); err != nil {
		return err
	}
	return h.truncateLocked(size)
}

func (h *file) truncateLocked(size int64) error {
	op := Op{Kind: Truncate, Path: h.name}
	if err := h.fs.ask(op); err != nil {
		return pathError("truncate", h.name, err)
	}
	c := change{size: size}
	h.n.data = c.applyTo(h.n.data)
	h.n.writes = append(h.n.writes, c)
	h.fs.changed(op)
	return nil
}

func (h *file) Sync() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	return h.syncLocked()
}

func (h *file) syncLocked() error {
	if err := h.check("sync", false); err != nil {
		return err
	}
	op := Op{Kind: Sync, Path: h.name}
	if err := h.fs.ask(op); err != nil {
		h.n.writes = nil // lost: marked clean without being written
		return pathError("sync", h.name, err)
	}
	for _, c := range h.n.writes {
		h.n.durable = c.applyTo(h.n.durable)
	}
	h.n.writes = nil
	h.fs.changed(op)
	return nil
}

func (h *file) TryLock() (bool, error) {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.closed {
		return false, pathError("flock", h.name, fs.ErrClosed)
	}
	if h.n.lockedBy != nil && h.n.lockedBy != h {
		return false, nil
	}
	h.n.lockedBy = h
	return true, nil
}

func (h *file) Unlock() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.n.lockedBy == h {
		h.n.lockedBy = nil
	}
	return nil
}

func (h *file) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	if h.n.lockedBy == h {
		h.n.lockedBy = nil
	}
	h.closed = true
	return nil
}
