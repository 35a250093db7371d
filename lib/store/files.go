package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// Root is the file backend of Store.
var _ Store = Root{}

// Location is the root directory.
func (r Root) Location() string { return r.Dir }

// NoStreamError is the error of a backend that does not have stream id:
// it wraps ErrNoStream and the backend's own cause.
func NoStreamError(id record.StreamID, err error) error {
	return fmt.Errorf("%w %s: %w", ErrNoStream, record.Quote(id.String()), err)
}

// OpenLog opens a stream's app.jsonl for reading.
func (r Root) OpenLog(id record.StreamID) (Log, error) {
	l, err := eventlog.OpenReader(r.LogPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, NoStreamError(id, err)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// OpenWriter opens a stream's app.jsonl for appending; creating it makes
// its directories and registers it (the registry line is not fsynced:
// discovery finds an unregistered stream by listing).
func (r Root) OpenWriter(id record.StreamID, create bool) (Writer, bool, error) {
	path := r.LogPath(id)
	f, created, err := eventlog.OpenAppend(path, create)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, NoStreamError(id, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("open stream %s: %w", id, err)
	}
	w := &fileWriter{File: f}
	if created {
		if err := r.Register(id, false); err != nil {
			_ = f.Close()
			return nil, false, err
		}
		// The log's name must survive a crash before any event in it is
		// acknowledged: its directory, the type's and streams/ are synced
		// with its first flush.
		dir := filepath.Dir(path)
		w.newDirs = []string{dir, filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))}
	}
	return w, created, nil
}

// fileWriter is a log file and the directories its creation added, which
// its next flush makes durable.
type fileWriter struct {
	*eventlog.File
	newDirs []string
}

func (w *fileWriter) Sync() error {
	if err := w.File.Sync(); err != nil {
		return err
	}
	return w.syncDirs()
}

func (w *fileWriter) syncDirs() error {
	for len(w.newDirs) > 0 {
		if err := SyncDir(w.newDirs[0]); err != nil {
			return err
		}
		w.newDirs = w.newDirs[1:]
	}
	return nil
}

// syncfsThreshold is how many files (logs and new directories) a group
// must touch before one syncfs(2) of the whole file system is cheaper than
// an fsync per file. Measured here: with 32 dirty files, 1.1 ms against
// 8.6 ms one after another.
const syncfsThreshold = 4

// SyncWriters flushes a group: one fdatasync for a lone log, one syncfs
// when the group touches many files (it also covers new directories and
// registry lines), falling back to a flush per file when syncfs fails.
func (r Root) SyncWriters(ws []Writer) error {
	files := make([]*fileWriter, 0, len(ws))
	seen := make(map[*fileWriter]bool, len(ws))
	n := 0
	for _, w := range ws {
		fw, ok := w.(*fileWriter)
		if !ok {
			return fmt.Errorf("sync %s: not a writer of root %s", w.Name(), r.Dir)
		}
		if !seen[fw] {
			seen[fw] = true
			files = append(files, fw)
			n += 1 + len(fw.newDirs)
		}
	}
	if n >= syncfsThreshold && files[0].SyncFS() == nil {
		for _, w := range files {
			w.newDirs = nil
		}
		return nil
	}
	for _, w := range files {
		if err := w.Sync(); err != nil {
			return err
		}
	}
	return nil
}
