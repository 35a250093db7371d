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

// Reader is a log opened for reading. It keeps no buffer of its own, so a
// reader of 100,000 logs holds only what it is reading.
type Reader struct {
	fdFile
}

// OpenReader opens the log at path for reading; a missing log is an error
// that satisfies errors.Is(err, fs.ErrNotExist).
func OpenReader(path string) (*Reader, error) {
	l, err := openFD(path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &Reader{l}, nil
}

// Name is the log's path.
func (l *Reader) Name() string { return l.path }

// Check compares t with the log (see Check); it sets t.LastStart when that
// was not known (negative) and the line is there.
func (l *Reader) Check(t *Tail) (Check, error) { return l.check(t) }

// Count sets t.Version to the number of lines before t.Offset.
func (l *Reader) Count(t *Tail) error { return l.count(t) }

// Scan reads the complete lines after from, no further than offset end
// (-1: to the end of the log), calling fn for each; it returns the
// position past the last one, with the bytes after it that end in no
// newline counted as Torn. A line that is not an event is passed with Err
// set to a *CorruptError; fn decides whether that stops the scan. Scan
// stops with fn's error.
func (l *Reader) Scan(from Tail, end int64, fn func(Entry) error) (Tail, error) {
	return l.scan(from, end, fn)
}

func (l fdFile) scan(from Tail, end int64, fn func(Entry) error) (Tail, error) {
	return ScanAt(l, l.path, from, end, fn)
}

// Durable makes the log durable as far as it goes now and returns that
// offset: what a follower may report as acknowledged.
func (l *Reader) Durable() (int64, error) { return l.durable() }

func (l fdFile) durable() (int64, error) {
	size, err := l.size()
	if err != nil {
		return 0, err
	}
	return size, l.datasync()
}

// Close closes the log; closing it again does nothing (the descriptor's
// number may belong to another file by then).
func (l *Reader) Close() error {
	err := l.close()
	l.fd = -1
	return err
}

// File is a log opened for appending. It keeps the descriptor open so the
// per-command lock and sync cost a system call each, not an open.
type File struct {
	fdFile
	f *os.File
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
	return &File{fdFile: fdFile{fd: int(f.Fd()), path: path}, f: f}, created, nil
}

// Name is the log's path.
func (w *File) Name() string { return w.path }

// Check compares t with the log, as Reader.Check.
func (w *File) Check(t *Tail) (Check, error) { return w.check(t) }

// Count sets t.Version to the number of lines before t.Offset.
func (w *File) Count(t *Tail) error { return w.count(t) }

// Scan reads lines after from, as Reader.Scan.
func (w *File) Scan(from Tail, end int64, fn func(Entry) error) (Tail, error) {
	return w.scan(from, end, fn)
}

// Durable makes the log durable and returns its end, as Reader.Durable.
func (w *File) Durable() (int64, error) { return w.durable() }

// Close closes the log, releasing any lock it holds.
func (w *File) Close() error {
	w.fd = -1 // an unlock after this must not reach a reused descriptor
	return w.f.Close()
}

// Lock takes the exclusive writer lock (flock on the log file), waiting up
// to timeout while another process holds it.
func (w *File) Lock(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	fd := w.fd
	if fd < 0 {
		return nil, &fs.PathError{Op: "flock", Path: w.path, Err: fs.ErrClosed}
	}
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Microsecond
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() error {
				if w.fd != fd {
					return nil // closed, which released the lock
				}
				return unix.Flock(fd, unix.LOCK_UN)
			}, nil
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

// Truncate cuts the log to end: the repair for a torn tail, or the undo of
// a failed append. The writer lock must be held.
func (w *File) Truncate(end int64) error {
	if err := w.f.Truncate(end); err != nil {
		return fmt.Errorf("truncate %s: %w", w.path, err)
	}
	return nil
}

// Append writes lines (each ending in a newline) in one write at the end
// of the log, which ends at offset end. On a failed or short write it cuts
// the log back to end, so no partial line stays behind. The writer lock
// must be held.
func (w *File) Append(lines []byte, end int64) error {
	n, err := w.f.Write(lines)
	if err == nil && n != len(lines) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(lines))
	}
	if err != nil {
		_ = w.f.Truncate(end)
		return fmt.Errorf("append to %s: %w", w.path, err)
	}
	return nil
}

// Sync makes appended data durable (fdatasync).
func (w *File) Sync() error { return w.datasync() }

// SyncFS makes everything written to the file system holding the log
// durable (syncfs(2)): other logs, new directories and all. With many
// files to flush it is one call where fdatasync would be one per file.
func (w *File) SyncFS() error {
	if err := ignoringEINTR(func() error { return unix.Syncfs(w.fd) }); err != nil {
		return fmt.Errorf("syncfs %s: %w", w.path, err)
	}
	return nil
}
