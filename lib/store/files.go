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
		return r.existing(id, f), false, nil
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
//
// Creations in this process hold the root's name set while they make
// names, so a flush of another new stream either sees what they made or
// waits for it (see nameSync).
func (r Root) create(id record.StreamID) (w *fileWriter, created bool, err error) {
	names := r.nameSet()
	names.mu.Lock()
	defer names.mu.Unlock()
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
	// synced with the writer's first flush (a log another process made
	// gets the same, as its maker may not have flushed yet), and the parent
	// of every directory made here or by the registration (the root's
	// parent, on the root's first stream) with the next flush of any
	// writer of the root.
	names.addLocked(vfs.Parents(append(regMade, made...)))
	w = &fileWriter{File: f, fs: fsys, names: names, newDirs: r.logDirs(id), id: id, journal: r.journal}
	w.journal.acquire()
	return w, created, nil
}

// logDirs are the directories holding the names on a stream's log's path,
// from the root down: the stream's, the type's, streams/ and the root.
func (r Root) logDirs(id record.StreamID) []string {
	dir := r.StreamDir(id)
	typeDir := filepath.Dir(dir)
	return []string{dir, typeDir, filepath.Dir(typeDir), r.Dir}
}

// existing wraps a log that was there. An empty one may have been made by
// a process that died (or failed) before its first flush, whose names
// nothing has synced: they are synced with this writer's first flush.
func (r Root) existing(id record.StreamID, f *eventlog.File) *fileWriter {
	w := &fileWriter{File: f, fs: r.fs(), names: r.nameSet(), id: id, journal: r.journal}
	w.journal.acquire()
	if size, err := f.Handle().Size(); err != nil || size == 0 {
		w.newDirs = r.logDirs(id)
	}
	return w
}

// nameSet is the root's set of directories with new names, or a set of
// the writer's own for a Root not made by Open.
func (r Root) nameSet() *nameSync {
	if r.names == nil {
		return &nameSync{}
	}
	return r.names
}

// fileWriter is a log file, and the directories its log's name depends
// on that its first flush makes durable (a new or empty log's). Every
// flush also syncs the directories with new names pending for the root
// (usually none): an event acknowledged in a new stream must not rest on
// a name a power cut can take. A flush that fails leaves them for the
// next: unlike a file's pages, which the kernel may mark clean after a
// failed writeback, a directory's entries are journaled metadata, and a
// journal that cannot commit stops the file system instead of dropping
// them.
//
// Each append is also noted in the root's change journal (journal.go), and
// the notes are written once the log is flushed, so a follower learns of
// it without watching the log.
type fileWriter struct {
	*eventlog.File
	fs      vfs.FS
	names   *nameSync
	newDirs []string
	id      record.StreamID
	journal *journal
}

func (w *fileWriter) Append(lines []byte, end int64) error {
	if err := w.File.Append(lines, end); err != nil {
		return err
	}
	w.journal.note(w.id, end+int64(len(lines)))
	return nil
}

func (w *fileWriter) Close() error {
	err := w.File.Close()
	if w.journal != nil {
		w.journal.release()
		w.journal = nil // a second Close does nothing
	}
	return err
}

func (w *fileWriter) Sync() error {
	shared, mark := w.names.pending()
	if len(shared) == 0 && len(w.newDirs) == 0 {
		if err := w.File.Sync(); err != nil {
			return err
		}
		w.journal.flush()
		return nil
	}
	if err := w.fs.SyncAll([]vfs.File{w.Handle()}, union(w.newDirs, shared)); err != nil {
		return err
	}
	w.newDirs = nil
	w.names.done(shared, mark)
	w.journal.flush()
	return nil
}

// union is a and b without repeats, in order.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, d := range slices.Concat(a, b) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// SyncWriters flushes a group of logs, and the directories with new names
// not yet durable, in one vfs.FS.SyncAll: on Linux one
// fdatasync for a lone log and one syncfs for many, elsewhere a flush per
// file, several at a time.
func (r Root) SyncWriters(ws []Writer) error {
	fws := make([]*fileWriter, 0, len(ws))
	files := make([]vfs.File, 0, len(ws))
	var seen map[*fileWriter]bool // for a large group; a small one is searched
	if len(ws) > 16 {
		seen = make(map[*fileWriter]bool, len(ws))
	}
	var sets []*nameSync
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
		if !slices.Contains(sets, fw.names) {
			sets = append(sets, fw.names)
		}
	}
	if len(files) == 0 {
		return nil
	}
	pending := make([][]string, len(sets))
	marks := make([]uint64, len(sets))
	var dirs []string
	seenDirs := map[string]bool{}
	add := func(ds []string) {
		for _, d := range ds {
			if !seenDirs[d] {
				seenDirs[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	for i, n := range sets {
		pending[i], marks[i] = n.pending()
		add(pending[i])
	}
	for _, w := range fws {
		add(w.newDirs)
	}
	if err := r.fs().SyncAll(files, dirs); err != nil {
		return err
	}
	for i, n := range sets {
		n.done(pending[i], marks[i])
	}
	var journals []*journal
	for _, w := range fws {
		w.newDirs = nil
		if !slices.Contains(journals, w.journal) {
			journals = append(journals, w.journal)
		}
	}
	for _, j := range journals {
		j.flush()
	}
	return nil
}
