package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// notifyBuffer is how many changes may wait while a follower reads; beyond
// it fsnotify blocks and the kernel queues, and past the kernel's queue an
// overflow becomes a Change with All set.
const notifyBuffer = 4096

// dirWatcher is the file backend's Watcher: fsnotify on the root's
// directories. Directories are watched rather than files: a directory's
// watch reports writes to the files in it, survives their rename-replace,
// and reports new children. After Watch sets it up, only its goroutine
// touches it.
type dirWatcher struct {
	w       *fsnotify.Watcher
	root    string
	streams string
	sel     Selection
	log     *slog.Logger
	watched map[string]int // directory → descriptors its watch is taken to hold
	initial bool           // setting up: what is found now is for the caller to list
	out     chan Change
	done    chan struct{}
	closing sync.Once

	// The descriptors watches may hold (negative: no limit), and how many
	// they are taken to hold now. Past the budget, or when the kernel
	// refuses a watch, the watcher polls instead (notify_poll.go).
	budget, used int
	poll         time.Duration
	polling      bool
	known        map[record.StreamID]bool // while polling: the streams seen
}

// Watch watches the root's directories that hold selected streams, and
// its parent while the root does not exist yet (readers never create it).
// Where each watch holds descriptors (kqueue on macOS and the BSDs), it
// watches within a budget derived from the descriptor limit: a root too
// big for it at the start is an error (the caller polls), and one that
// grows past it makes the watcher poll, with a warning.
func (r Root) Watch(sel Selection, log *slog.Logger) (Watcher, error) {
	return r.watch(sel, log, watchBudget(), fallbackPoll)
}

func (r Root) watch(sel Selection, log *slog.Logger, budget int, poll time.Duration) (Watcher, error) {
	if r.fs() != vfs.OS {
		return nil, errors.New("file notifications need the OS file system")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := fsnotify.NewBufferedWatcher(notifyBuffer)
	if err != nil {
		return nil, err
	}
	root := filepath.Clean(r.Dir)
	d := &dirWatcher{w: w, root: root, streams: filepath.Join(root, "streams"), sel: sel, log: log,
		watched: map[string]int{}, initial: true, out: make(chan Change, notifyBuffer), done: make(chan struct{}),
		budget: budget, poll: poll}
	if err := d.rescan(); err != nil {
		_ = w.Close()
		return nil, err
	}
	d.initial = false
	go d.run()
	return d, nil
}

func (d *dirWatcher) Changes() <-chan Change { return d.out }

func (d *dirWatcher) Close() (err error) {
	d.closing.Do(func() {
		close(d.done)
		err = d.w.Close()
	})
	return err
}

func (d *dirWatcher) run() {
	defer close(d.out)
	if d.notifyLoop() {
		d.pollLoop()
	}
}

// notifyLoop turns notifications into changes; it reports true when the
// watcher has fallen back to polling.
func (d *dirWatcher) notifyLoop() (polling bool) {
	for {
		select {
		case <-d.done:
			return false
		case ev, ok := <-d.w.Events:
			if !ok {
				return d.polling
			}
			d.event(ev)
		case err, ok := <-d.w.Errors:
			if !ok {
				return d.polling
			}
			d.watchError(err)
		}
		if d.polling {
			return true
		}
	}
}

func (d *dirWatcher) emit(c Change) {
	select {
	case d.out <- c:
	case <-d.done:
	}
}

func (d *dirWatcher) watchError(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		d.log.Info("file notifications overflowed; rescanning")
	} else {
		d.log.Warn("file notification error; rescanning", "err", err)
	}
	// Notifications may have been lost: look at everything.
	d.rescanOrWarn()
	d.emit(Change{All: true})
}

// add watches dir; ok is false when dir does not exist (yet). While
// polling it only looks.
func (d *dirWatcher) add(dir string) (ok bool, err error) {
	if _, ok := d.watched[dir]; ok {
		return true, nil
	}
	if d.polling {
		st, err := os.Stat(dir)
		return err == nil && st.IsDir(), nil
	}
	cost, err := d.overBudget(dir)
	if err == nil {
		err = d.w.Add(dir)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil && !d.initial && outOfWatches(err) {
		d.startPolling(err)
		return d.add(dir)
	}
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", dir, err)
	}
	d.watched[dir] = cost
	d.used += cost
	return true, nil
}

// forget drops the watches of a removed or renamed directory and of
// everything below it, so they are set up again if it comes back.
func (d *dirWatcher) forget(dir string) {
	if _, ok := d.watched[dir]; !ok {
		return
	}
	d.unwatch(dir)
	prefix := dir + string(filepath.Separator)
	for p := range d.watched {
		if strings.HasPrefix(p, prefix) {
			d.unwatch(p)
		}
	}
}

func (d *dirWatcher) unwatch(dir string) {
	if !d.polling {
		_ = d.w.Remove(dir) // the kernel may already have dropped it
	}
	d.used -= d.watched[dir]
	delete(d.watched, dir)
}

// rescan makes sure every existing directory that matters is watched,
// reporting the streams it starts watching.
func (d *dirWatcher) rescan() error {
	ok, err := d.add(d.root)
	if err != nil {
		return err
	}
	if !ok {
		parent := filepath.Dir(d.root)
		if ok, err := d.add(parent); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("neither the root %s nor its parent exists", record.Quote(d.root)))
		}
		return nil
	}
	if ok, err := d.add(d.streams); err != nil || !ok {
		return err
	}
	types := d.sel.TypeList()
	if types == nil {
		entries, err := os.ReadDir(d.streams)
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
		if err := d.rescanType(typ); err != nil {
			return err
		}
	}
	return nil
}

func (d *dirWatcher) rescanOrWarn() {
	if err := d.rescan(); err != nil {
		d.log.Warn("watch the root", "err", err)
	}
}

// rescanType watches a type's directory and the selected streams in it.
func (d *dirWatcher) rescanType(typ string) error {
	dir := filepath.Join(d.streams, typ)
	if ok, err := d.add(dir); err != nil || !ok {
		return err
	}
	if !d.sel.WantsType(typ) {
		for id := range d.sel.Streams {
			if id.Type == typ {
				if err := d.addStream(id); err != nil {
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
			if err := d.addStream(record.StreamID{Type: typ, ID: e.Name()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addStream watches a stream's directory; one whose directory is watched
// anew after setup is reported: it appeared, or came back.
func (d *dirWatcher) addStream(id record.StreamID) error {
	if CheckStream(id) != nil {
		return nil
	}
	dir := filepath.Join(d.streams, id.Type, id.ID)
	_, was := d.watched[dir]
	if d.polling {
		was = d.known[id]
	}
	ok, err := d.add(dir)
	if err != nil || !ok {
		return err
	}
	if d.polling {
		d.known[id] = true
	}
	if !was && !d.initial {
		d.emit(Change{Stream: id})
	}
	return nil
}

// event turns one notification into changes or directories to watch.
func (d *dirWatcher) event(ev fsnotify.Event) {
	p := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		d.forget(p)
	}
	if p == d.root || p == d.streams {
		// Created: watch what is in it. The root removed: watch its
		// parent again, to see it come back.
		if ev.Has(fsnotify.Create) || p == d.root && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
			d.rescanOrWarn()
		}
		return
	}
	rel, ok := strings.CutPrefix(p, d.streams+string(filepath.Separator))
	if !ok {
		return
	}
	parts := strings.Split(rel, string(filepath.Separator))
	switch len(parts) {
	case 1:
		if ev.Has(fsnotify.Create) && d.sel.WantsSomeOf(parts[0]) {
			if err := d.rescanType(parts[0]); err != nil {
				d.log.Warn("watch new stream type", "type", parts[0], "err", err)
			}
		}
	case 2, 3:
		id := record.StreamID{Type: parts[0], ID: parts[1]}
		if !d.sel.Wants(id) || (len(parts) == 3 && parts[2] != "app.jsonl") {
			return
		}
		if len(parts) == 2 && ev.Has(fsnotify.Create) {
			if err := d.addStream(id); err != nil {
				d.log.Warn("watch new stream", "stream", id.String(), "err", err)
			}
		}
		d.emit(Change{Stream: id})
	}
}
