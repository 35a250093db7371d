package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
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
	l, err := eventlog.OpenReader(r.fs(), r.LogPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, NoStreamError(id, err)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// OpenWriter opens a stream's app.jsonl for appending; with create, a
// missing one is made (see create).
func (r Root) OpenWriter(id record.StreamID, create bool) (Writer, bool, error) {
	f, err := eventlog.OpenAppend(r.fs(), r.LogPath(id))
	switch {
	case err == nil:
		return &fileWriter{File: f, fs: r.fs()}, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("open stream %s: %w", id, err)
	case !create:
		return nil, false, NoStreamError(id, err)
	}
	w, created, err := r.create(id)
	if err != nil {
		return nil, false, err
	}
	return w, created, nil
}

// create makes a stream all or nothing: it registers the stream first (the
// registry line is not synced: discovery finds an unregistered stream by
// listing), so a registry that cannot be written leaves nothing behind;
// then it makes the stream's directories and its log, and if that fails
// removes the directories it made. A registry line whose log was never
// made names a stream that discovery does not list, as one deleted by
// hand. Another process may make the log first: created is then false.
func (r Root) create(id record.StreamID) (w *fileWriter, created bool, err error) {
	fsys := r.fs()
	regMade, err := r.register(id, false)
	if err != nil {
		return nil, false, err
	}
	dir := r.StreamDir(id)
	made, err := vfs.MkdirAll(fsys, dir, 0o755)
	var f *eventlog.File
	if err == nil {
		f, created, err = eventlog.CreateAppend(fsys, r.LogPath(id))
	}
	if err != nil {
		vfs.RemoveDirs(fsys, made)
		return nil, false, err
	}
	// The log's name must survive a crash before any event in it is
	// acknowledged: its directory, the type's, streams/ and the root are
	// synced with its first flush, and so is the parent of every directory
	// made here or by the registration (the root's parent, on the root's
	// first stream). A log another process made gets the same, as its
	// maker may not have flushed yet. (On Linux these four and more are
	// one syncfs.)
	typeDir := filepath.Dir(dir)
	w = &fileWriter{File: f, fs: fsys, newDirs: []string{dir, typeDir, filepath.Dir(typeDir), r.Dir}}
	for _, p := range vfs.Parents(append(regMade, made...)) {
		if !slices.Contains(w.newDirs, p) {
			w.newDirs = append(w.newDirs, p)
		}
	}
	return w, created, nil
}

// fileWriter is a log file and the directories its creation added, which
// its next flush makes durable.
type fileWriter struct {
	*eventlog.File
	fs      vfs.FS
	newDirs []string
	// namesLost is the error of a first flush that failed: the log's name
	// may never become durable (a failed sync is not retried and trusted),
	// so every later flush through this writer fails too.
	namesLost error
}

func (w *fileWriter) Sync() error {
	if len(w.newDirs) == 0 {
		return w.File.Sync()
	}
	return w.syncNames(w.fs.SyncAll([]vfs.File{w.Handle()}, w.newDirs))
}

// syncNames takes the outcome of a flush that included the writer's new
// directories.
func (w *fileWriter) syncNames(err error) error {
	switch {
	case w.namesLost != nil:
		return fmt.Errorf("%s: an earlier flush of its name failed: %w", w.Name(), w.namesLost)
	case err != nil:
		w.namesLost = err
		return err
	}
	w.newDirs = nil
	return nil
}

// SyncWriters flushes a group of logs and the directories their creation
// added in one vfs.FS.SyncAll: on Linux one fdatasync for a lone log and
// one syncfs for many, elsewhere a flush per file, several at a time.
func (r Root) SyncWriters(ws []Writer) error {
	fws := make([]*fileWriter, 0, len(ws))
	files := make([]vfs.File, 0, len(ws))
	var seen map[*fileWriter]bool // for a large group; a small one is searched
	if len(ws) > 16 {
		seen = make(map[*fileWriter]bool, len(ws))
	}
	var dirs []string
	var seenDirs map[string]bool
	for _, w := range ws {
		fw, ok := w.(*fileWriter)
		if !ok {
			return fmt.Errorf("sync %s: not a writer of root %s", w.Name(), r.Dir)
		}
		if seen != nil && seen[fw] || seen == nil && slices.Contains(fws, fw) {
			continue
		}
		if seen != nil {
			seen[fw] = true
		}
		fws = append(fws, fw)
		files = append(files, fw.Handle())
		for _, d := range fw.newDirs {
			if seenDirs == nil {
				seenDirs = map[string]bool{}
			}
			if !seenDirs[d] {
				seenDirs[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	if len(files) == 0 {
		return nil
	}
	err := r.fs().SyncAll(files, dirs)
	for _, w := range fws {
		if len(w.newDirs) > 0 {
			if werr := w.syncNames(err); err == nil {
				err = werr
			}
		}
	}
	return err
}
