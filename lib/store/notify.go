package store

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
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
// overflow makes the watcher look at everything again.
const notifyBuffer = 4096

// settleLimit is how long a watcher waits for CaughtUp before it starts
// the set-up it defers to then.
const settleLimit = time.Minute

// dirWatcher is the file backend's Watcher. What it costs does not grow
// with the number of streams:
//
//   - a few directories are watched from the start, whatever the root
//     holds: the root (its parent while it does not exist), meta/, where
//     the change journal (journal.go) tells which streams fold's writers
//     appended to, streams/ and each selected type's directory, where new
//     streams appear;
//   - once the caller has caught up (CaughtUp), the streams are listed
//     once: when they fit in the watch budget each stream's directory is
//     watched too, so appends by other writers (eventfold-es, cp) are
//     reported at once; otherwise a scan (notify_scan.go) looks at each
//     selected log's size now and then, as seldom as keeps its cost under
//     1/scanDuty of a core, and reports what changed;
//   - without notifications (another file system, a descriptor budget
//     too small for even those directories, Poll) the journal is read and
//     the directories' modification times looked at every poll interval,
//     and the same scan covers the rest.
//
// The event loop (run) owns the notifications and the journal; the scanner
// runs in a goroutine of its own, so a scan of 100,000 logs never delays
// what the journal reports.
type dirWatcher struct {
	fs      vfs.FS
	root    string
	streams string
	meta    string
	sel     Selection
	log     *slog.Logger
	out     chan Change
	done    chan struct{}
	closing sync.Once
	settle  chan struct{}
	settled sync.Once
	wg      sync.WaitGroup

	w       *fsnotify.Watcher // nil while polling
	watched map[string]int    // directory → descriptors its watch is taken to hold
	initial bool              // in Watch: what is found now is for the caller to list
	// The descriptors watches may hold (negative: no limit), and how many
	// they are taken to hold now.
	budget, used int
	// perStream is set while every selected stream's directory is watched:
	// the scanner then only runs when asked.
	perStream bool
	poll      time.Duration // while polling, how often the journal and directories are looked at

	journal *journalReader
	scan    *scanner
}

// Watch reports appends to the selected streams and new ones, as
// dirWatcher says, and falls back to polling every fallbackPoll (with a
// warning) where notifications are unavailable. It fails only on a file
// system other than the OS's, where the caller polls (Root.Poll).
func (r Root) Watch(sel Selection, log *slog.Logger) (Watcher, error) {
	if r.fs() != vfs.OS {
		return nil, errors.New("file notifications need the OS file system")
	}
	return r.watch(sel, log, watchOpts{budget: r.watchBudget()})
}

// Poll is Watch without notifications: it reads the journal and looks at
// the directories every interval, at a cost that does not grow with the
// number of streams, and scans each log's size no more often than every
// interval nor than keeps the scan under 1/scanDuty of a core. It works on
// any file system.
func (r Root) Poll(sel Selection, every time.Duration, log *slog.Logger) (Watcher, error) {
	return r.watch(sel, log, watchOpts{poll: every, minScan: every})
}

// watchBudget is the budget Root.WatchBudget sets, else the platform's.
func (r Root) watchBudget() int {
	if r.WatchBudget != 0 {
		return r.WatchBudget
	}
	return watchBudget()
}

// watchOpts say how a watcher watches: polling every poll when it is
// positive, else with notifications within budget; minScan bounds the
// scan's period from below (minScanPeriod; tests make it shorter).
type watchOpts struct {
	budget  int
	poll    time.Duration
	minScan time.Duration
}

// watch starts a watcher.
func (r Root) watch(sel Selection, log *slog.Logger, o watchOpts) (Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := filepath.Clean(r.Dir)
	d := &dirWatcher{fs: r.fs(), root: root, streams: filepath.Join(root, "streams"), meta: filepath.Join(root, "meta"),
		sel: sel, log: log, out: make(chan Change, notifyBuffer), done: make(chan struct{}), settle: make(chan struct{}),
		watched: map[string]int{}, initial: true, budget: o.budget, poll: o.poll}
	if o.poll <= 0 {
		if err := d.startNotify(); err != nil {
			d.log.Warn("file notifications unavailable for this root; polling", "every", fallbackPoll.String(), "err", err)
			d.poll = fallbackPoll
		}
	}
	d.initial = false
	var err error
	if d.journal, err = openJournal(d.fs, d.meta); err != nil {
		d.log.Warn("read the change journal", "err", err)
	}
	d.scan = newScanner(d, cmp.Or(o.minScan, minScanPeriod))
	d.wg.Add(2)
	go d.run()
	go d.scan.run()
	go func() {
		d.wg.Wait()
		close(d.out)
	}()
	return d, nil
}

// startNotify sets up the directories' watches.
func (d *dirWatcher) startNotify() error {
	w, err := fsnotify.NewBufferedWatcher(notifyBuffer)
	if err != nil {
		return err
	}
	d.w = w
	if err := d.rescan(); err != nil {
		d.stopNotify()
		return err
	}
	return nil
}

// stopNotify drops every watch, freeing their descriptors.
func (d *dirWatcher) stopNotify() {
	if d.w != nil {
		_ = d.w.Close()
		d.w = nil
	}
	d.watched = map[string]int{}
	d.used = 0
	d.perStream = false
}

func (d *dirWatcher) Changes() <-chan Change { return d.out }

// CaughtUp tells the watcher that its caller has read what the streams
// held: the set-up that costs a call per stream starts then, so it does
// not compete with the catch-up.
func (d *dirWatcher) CaughtUp() { d.settled.Do(func() { close(d.settle) }) }

func (d *dirWatcher) Close() error {
	d.closing.Do(func() { close(d.done) })
	return nil
}

func (d *dirWatcher) emit(c Change) {
	select {
	case d.out <- c:
	case <-d.done:
	}
}

// run is the event loop: notifications, or the poll ticks, and the
// scanner's requests to watch streams.
func (d *dirWatcher) run() {
	defer d.wg.Done()
	defer d.stopNotify()
	defer func() {
		if d.journal != nil {
			d.journal.close()
		}
	}()
	var tick *time.Ticker
	for {
		var events <-chan fsnotify.Event
		var errs <-chan error
		var ticks <-chan time.Time
		if d.w != nil {
			events, errs = d.w.Events, d.w.Errors
		} else {
			if tick == nil {
				tick = time.NewTicker(d.poll)
				defer tick.Stop()
			}
			ticks = tick.C
		}
		select {
		case <-d.done:
			return
		case ev, ok := <-events:
			if !ok {
				d.startPolling(errors.New("notifications stopped"))
				continue
			}
			d.event(ev)
		case err, ok := <-errs:
			if !ok {
				d.startPolling(errors.New("notifications stopped"))
				continue
			}
			d.watchError(err)
		case <-ticks:
			d.readJournal(true)
		case ids := <-d.scan.watchReq:
			d.scan.watchDone <- d.watchStreams(ids)
		}
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
	// Notifications may have been lost: look at everything. A stream
	// directory created meanwhile has no watch, so stream watches are
	// given up for the scan.
	d.rescanOrWarn()
	d.readJournal(true)
	d.dropStreamWatches()
	d.scan.request(scanAll | scanPeriodic)
}

// readJournal reads the journal's new lines and reports the selected
// streams they name; a gap in it makes the scanner look at every log.
func (d *dirWatcher) readJournal(list bool) {
	if d.journal == nil {
		var err error
		if d.journal, err = openJournal(d.fs, d.meta); err != nil {
			return
		}
		list = true
	}
	lost, err := d.journal.read(list, func(id record.StreamID, offset int64) {
		if d.sel.Wants(id) {
			d.emit(Change{Stream: id, Size: offset})
		}
	})
	if err != nil {
		d.log.Debug("read the change journal", "err", err)
	}
	if lost && !d.perStream {
		d.log.Info("change journal lines lost; scanning every log")
		d.scan.request(scanAll)
	}
}

// add watches dir; ok is false when dir does not exist (yet). A watch the
// budget or the kernel refuses is an error wrapping errWatchBudget, or the
// kernel's ENOSPC or EMFILE (outOfWatches).
func (d *dirWatcher) add(dir string) (ok bool, err error) {
	if _, ok := d.watched[dir]; ok {
		return true, nil
	}
	cost, err := d.overBudget(dir)
	if err == nil {
		err = d.w.Add(dir)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
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
	_ = d.w.Remove(dir) // the kernel may already have dropped it
	d.used -= d.watched[dir]
	delete(d.watched, dir)
}

// rescan makes sure the directories that matter are watched: the root (or
// its parent), meta/, streams/ and the selected types' directories. A
// type's directory watched anew after set-up is a new type: its streams
// are reported.
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
	if _, err := d.add(d.meta); err != nil {
		return err
	}
	if ok, err := d.add(d.streams); err != nil || !ok {
		return err
	}
	types := d.sel.TypeList()
	if types == nil {
		entries, err := d.fs.ReadDir(d.streams)
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
		if err := d.addType(typ); err != nil {
			return err
		}
	}
	return nil
}

// addType watches a type's directory; one watched anew after set-up
// holds only new streams, which are reported (and watched, while every
// stream is).
func (d *dirWatcher) addType(typ string) error {
	dir := filepath.Join(d.streams, typ)
	_, was := d.watched[dir]
	if ok, err := d.add(dir); err != nil || !ok || was || d.initial {
		return err
	}
	entries, err := d.fs.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, e := range entries {
		if id := (record.StreamID{Type: typ, ID: e.Name()}); e.IsDir() && d.sel.Wants(id) {
			d.newStream(id)
		}
	}
	return nil
}

func (d *dirWatcher) rescanOrWarn() {
	if d.w == nil {
		return
	}
	err := d.rescan()
	if err != nil && outOfWatches(err) {
		d.startPolling(err)
		return
	}
	if err != nil {
		d.log.Warn("watch the root", "err", err)
	}
}

// newStream reports a stream that appeared, and watches it while every
// stream is watched.
func (d *dirWatcher) newStream(id record.StreamID) {
	if CheckStream(id) != nil {
		return
	}
	if d.perStream {
		if _, err := d.add(filepath.Join(d.streams, id.Type, id.ID)); err != nil {
			d.giveUpStreamWatches(err)
		}
	}
	d.emit(Change{Stream: id})
}

// event turns one notification into changes or directories to watch.
func (d *dirWatcher) event(ev fsnotify.Event) {
	p := filepath.Clean(ev.Name)
	gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	if gone {
		d.forget(p)
	}
	switch {
	case p == d.root || p == d.streams || p == d.meta:
		// Created: watch what is in it. The root removed: watch its
		// parent again, to see it come back.
		if ev.Has(fsnotify.Create) || p == d.root && gone {
			d.rescanOrWarn()
			d.readJournal(true)
		}
		return
	case filepath.Dir(p) == d.meta:
		if _, ok := journalSeq(filepath.Base(p)); ok {
			d.readJournal(ev.Has(fsnotify.Create) || gone)
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
			if err := d.addType(parts[0]); err != nil {
				d.watchFailed(err)
			}
		}
	case 2, 3:
		id := record.StreamID{Type: parts[0], ID: parts[1]}
		if !d.sel.Wants(id) || (len(parts) == 3 && parts[2] != "app.jsonl") {
			return
		}
		if len(parts) == 2 && ev.Has(fsnotify.Create) {
			d.newStream(id)
			return
		}
		d.emit(Change{Stream: id})
	}
}

// watchFailed handles a directory that could not be watched after set-up.
func (d *dirWatcher) watchFailed(err error) {
	if outOfWatches(err) {
		d.startPolling(err)
		return
	}
	d.log.Warn("watch the root", "err", err)
}
