package eventlog

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// File is an open log. Opened for appending, it keeps the descriptor open so the
// per-command lock and sync cost a system call each, not an open.
type File struct {
	f    *os.File
	path string
}

// OpenAppend opens the log at path for appending. With create it makes the
// file (and its directory) when missing and reports whether it did.
func OpenAppend(path string, create bool) (w *File, created bool, err error) {
	flags := os.O_RDWR | os.O_APPEND
	f, err := os.OpenFile(path, flags, 0)
	if err != nil && create && os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, false, fmt.Errorf("create stream directory: %w", err)
		}
		f, err = os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			created = true
		} else if os.IsExist(err) {
			f, err = os.OpenFile(path, flags, 0)
		}
	}
	if err != nil {
		return nil, false, err
	}
	return &File{f: f, path: path}, created, nil
}

// File returns the underlying file, for scans.
func (w *File) File() *os.File { return w.f }

// Path returns the log's path.
func (w *File) Path() string { return w.path }

// Close closes the log, releasing any lock it holds.
func (w *File) Close() error { return w.f.Close() }

// Lock takes the exclusive writer lock (flock on the log file), waiting up
// to timeout while another process holds it.
func (w *File) Lock(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	fd := int(w.f.Fd())
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Microsecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() error { return unix.Flock(fd, unix.LOCK_UN) }, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			return nil, &fs.PathError{Op: "flock", Path: w.path, Err: err}
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s: held by another process for %s: %w", w.path, timeout, ErrLockTimeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 10*time.Millisecond {
			wait *= 2
		}
	}
}

// Size returns the file's current size.
func (w *File) Size() (int64, error) {
	st, err := w.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// TruncateLocked cuts the file to size: the repair for a torn tail, or the
// undo of a failed append. The writer lock must be held.
func (w *File) TruncateLocked(size int64) error {
	if err := w.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s: %w", w.path, err)
	}
	return nil
}

// AppendLocked writes lines (each ending in a newline) in one write at the
// end of the file. On a failed or short write it cuts the file back to
// size, the tail the caller saw, so no partial line stays behind. The writer
// lock must be held.
func (w *File) AppendLocked(lines []byte, size int64) error {
	n, err := w.f.Write(lines)
	if err == nil && n != len(lines) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(lines))
	}
	if err != nil {
		_ = w.f.Truncate(size)
		return fmt.Errorf("append to %s: %w", w.path, err)
	}
	return nil
}

// Sync makes appended data durable (fdatasync).
func (w *File) Sync() error {
	for {
		err := unix.Fdatasync(int(w.f.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sync %s: %w", w.path, err)
		}
		return nil
	}
}

// OpenRead opens an existing log for reading only; Lock and appends fail.
func OpenRead(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &File{f: f, path: path}, nil
}
