package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// notifyBuffer is how many notifications may wait while a round is read;
// beyond it fsnotify blocks and the kernel queues, and past the kernel's
// queue an overflow makes the follower rescan everything.
const notifyBuffer = 4096

// tree is the fsnotify watch on the root's directories. Directories are
// watched rather than files: a directory's watch reports writes to the
// files in it, survives their rename-replace, and reports new children.
type tree struct {
	w       *fsnotify.Watcher
	root    string
	streams string
	watched map[string]bool
	initial bool // setting up: what is found is read by the catch-up
}

// notify sets up the watches on what exists now. An error means
// notifications are unavailable and the caller should poll.
func (f *follower) notify() error {
	w, err := fsnotify.NewBufferedWatcher(notifyBuffer)
	if err != nil {
		return err
	}
	root := filepath.Clean(f.r.s.Root.Dir)
	f.tree = &tree{w: w, root: root, streams: filepath.Join(root, "streams"), watched: map[string]bool{}, initial: true}
	if err := f.rescan(); err != nil {
		f.close()
		f.tree = nil
		return err
	}
	f.tree.initial = false
	return nil
}

func (t *tree) close() { _ = t.w.Close() }

// add watches dir; ok is false when dir does not exist (yet).
func (t *tree) add(dir string) (ok bool, err error) {
	if t.watched[dir] {
		return true, nil
	}
	err = t.w.Add(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", dir, err)
	}
	t.watched[dir] = true
	return true, nil
}

// forget drops the watches of a removed or renamed directory and of
// everything below it, so they are set up again if it comes back.
func (t *tree) forget(dir string) {
	if !t.watched[dir] {
		return
	}
	_ = t.w.Remove(dir) // the kernel may already have dropped it
	delete(t.watched, dir)
	prefix := dir + string(filepath.Separator)
	for p := range t.watched {
		if strings.HasPrefix(p, prefix) {
			_ = t.w.Remove(p)
			delete(t.watched, p)
		}
	}
}

// rescan makes sure every existing directory that matters is watched and
// every selected stream in them is known, marking new ones to be read.
func (f *follower) rescan() error {
	t := f.tree
	ok, err := t.add(t.root)
	if err != nil {
		return err
	}
	if !ok {
		// No root yet (readers never create one): watch where it will
		// appear.
		parent := filepath.Dir(t.root)
		if ok, err := t.add(parent); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("neither the root %s nor its parent exists", record.Quote(t.root)))
		}
		return nil
	}
	if ok, err := t.add(t.streams); err != nil || !ok {
		return err
	}
	types := f.r.sel.typeList()
	if types == nil {
		entries, err := os.ReadDir(t.streams)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("list streams: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				types = append(types, e.Name())
			}
		}
	}
	for _, typ := range types {
		if err := f.rescanType(typ); err != nil {
			return err
		}
	}
	return nil
}

// rescanType watches a type's directory and the selected streams in it.
func (f *follower) rescanType(typ string) error {
	t := f.tree
	dir := filepath.Join(t.streams, typ)
	if ok, err := t.add(dir); err != nil || !ok {
		return err
	}
	if !f.r.sel.wantsType(typ) {
		for id := range f.r.sel.streams {
			if id.Type == typ {
				if err := f.addStream(id); err != nil {
					return err
				}
			}
		}
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := f.addStream(record.StreamID{Type: typ, ID: e.Name()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addStream watches a stream's directory; a stream not seen before, or
// whose directory came back, is marked to be read.
func (f *follower) addStream(id record.StreamID) error {
	if store.CheckStream(id) != nil {
		return nil
	}
	t := f.tree
	dir := f.r.s.Root.StreamDir(id)
	was := t.watched[dir]
	ok, err := t.add(dir)
	if err != nil || !ok {
		return err
	}
	if f.tails[id] == nil || (!was && !t.initial) {
		f.markDirty(id)
	}
	return nil
}

// event turns one notification into streams to read or directories to
// watch.
func (f *follower) event(ev fsnotify.Event) {
	t := f.tree
	p := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		t.forget(p)
	}
	if p == t.root || p == t.streams {
		if ev.Has(fsnotify.Create) {
			f.rescanOrWarn()
		}
		return
	}
	rel, ok := strings.CutPrefix(p, t.streams+string(filepath.Separator))
	if !ok {
		return
	}
	parts := strings.Split(rel, string(filepath.Separator))
	switch len(parts) {
	case 1:
		if ev.Has(fsnotify.Create) && f.wantsSomeOf(parts[0]) {
			if err := f.rescanType(parts[0]); err != nil {
				f.r.s.log().Warn("watch new stream type", "type", parts[0], "err", err)
			}
		}
	case 2, 3:
		id := record.StreamID{Type: parts[0], ID: parts[1]}
		if !f.r.sel.wants(id) || (len(parts) == 3 && parts[2] != "app.jsonl") {
			return
		}
		if len(parts) == 2 && ev.Has(fsnotify.Create) {
			if err := f.addStream(id); err != nil {
				f.r.s.log().Warn("watch new stream", "stream", id.String(), "err", err)
			}
		}
		f.markDirty(id)
	}
}

func (f *follower) wantsSomeOf(typ string) bool {
	if f.r.sel.wantsType(typ) {
		return true
	}
	for id := range f.r.sel.streams {
		if id.Type == typ {
			return true
		}
	}
	return false
}

func (f *follower) rescanOrWarn() {
	if err := f.rescan(); err != nil {
		f.r.s.log().Warn("watch the root", "err", err)
	}
}
