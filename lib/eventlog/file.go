package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/fold-es/fold/lib/vfs"
)

// logFile is a log's open file with the reads a File and a Reader share.
type logFile struct {
	f vfs.File
}

// ReadAt implements io.ReaderAt.
func (l logFile) ReadAt(p []byte, off int64) (int, error) { return vfs.ReadAt(l.f, p, off) }

// readOnce reads at off into p with one pread: on a regular file a short
// read means the file ends there, so checking a position at the end of its
// log (the common case) costs no second call to see EOF.
func (l logFile) readOnce(p []byte, off int64) (int, error) { return l.f.Pread(p, off) }

func (l logFile) name() string { return l.f.Name() }

func (l logFile) scan(from Tail, end int64, fn func(Entry) error) (Tail, error) {
	return ScanAt(l, l.name(), from, end, fn)
}

// durable makes the log durable as far as it goes now and returns that
// offset. The sync works on a file opened for reading, whoever wrote the
// data.
func (l logFile) durable() (int64, error) {
	size, err := l.f.Size()
	if err != nil {
		return 0, err
	}
	return size, l.f.Sync()
}

// Reader is a log opened for reading. It keeps no buffer of its own, so a
// reader of 100,000 logs holds only what it is reading.
type Reader struct {
	logFile
}

// OpenReader opens the log at path for reading; a missing log is an error
// that satisfies errors.Is(err, fs.ErrNotExist).
func OpenReader(fsys vfs.FS, path string) (*Reader, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &Reader{logFile{f}}, nil
}

// Name is the log's path.
func (l *Reader) Name() string { return l.name() }

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

// Durable makes the log durable as far as it goes now and returns that
// offset: what a follower may report as acknowledged.
func (l *Reader) Durable() (int64, error) { return l.durable() }

// Close closes the log; closing it again does nothing.
func (l *Reader) Close() error { return l.f.Close() }

// File is a log opened for appending. It keeps the file open so the
// per-command lock and sync cost a system call each, not an open.
type File struct {
	logFile
}

// appendFlags open a log for appending.
const appendFlags = os.O_RDWR | os.O_APPEND

// OpenAppend opens the existing log at path for appending; a missing log
// is an error that satisfies errors.Is(err, fs.ErrNotExist).
func OpenAppend(fsys vfs.FS, path string) (*File, error) {
	f, err := fsys.OpenFile(path, appendFlags, 0)
	if err != nil {
		return nil, err
	}
	return &File{logFile{f}}, nil
}

// CreateAppend makes the log at path, in a directory that exists, and
// opens it for appending; created is false when another writer made it
// first (it is then opened as it is).
func CreateAppend(fsys vfs.FS, path string) (w *File, created bool, err error) {
	f, err := fsys.OpenFile(path, appendFlags|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		w, err := OpenAppend(fsys, path)
		return w, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return &File{logFile{f}}, true, nil
}

// Name is the log's path.
func (w *File) Name() string { return w.name() }

// Handle is the file below the log, for flushing it with others in one
// group (vfs.FS.SyncAll).
func (w *File) Handle() vfs.File { return w.f }

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
func (w *File) Close() error { return w.f.Close() }

// Lock takes the exclusive writer lock (flock on the log file), waiting up
// to timeout while another process holds it.
func (w *File) Lock(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Microsecond
	for {
		ok, err := w.f.TryLock()
		if err != nil {
			return nil, err
		}
		if ok {
			return w.f.Unlock, nil
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s: held by another process for %s: %w", w.name(), timeout, ErrLockTimeout)
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
// a failed append or flush. The writer lock must be held.
func (w *File) Truncate(end int64) error { return w.f.Truncate(end) }

// Append writes lines (each ending in a newline) in one write at the end
// of the log, which ends at offset end. On a failed or short write it cuts
// the log back to end, so no partial line stays behind. The writer lock
// must be held.
func (w *File) Append(lines []byte, end int64) error {
	if _, err := w.f.Write(lines); err != nil {
		_ = w.f.Truncate(end)
		return fmt.Errorf("append to %s: %w", w.name(), err)
	}
	return nil
}

// Sync makes appended data durable: fdatasync on Linux, F_FULLFSYNC on
// macOS, fsync on the BSDs (vfs.File.Sync).
func (w *File) Sync() error { return w.f.Sync() }
