package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// fallbackPoll is how often a watcher that ran out of watches looks.
const fallbackPoll = time.Second

// errWatchBudget is a root too big to watch within the descriptor budget.
var errWatchBudget = errors.New("too many directories to watch")

// overBudget returns the descriptors a watch of dir is taken to hold, or
// an error when they would pass the budget. A kqueue watch of a directory
// holds a descriptor for it and one for each entry in it (fsnotify watches
// each file to see writes); a stream's directory holds its log and views/.
func (d *dirWatcher) overBudget(dir string) (int, error) {
	if d.budget < 0 {
		return 0, nil
	}
	cost := 1
	if f, err := os.Open(dir); err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		cost += len(names)
	}
	if d.used+cost <= d.budget {
		return cost, nil
	}
	err := fmt.Errorf("%w: watching %s would take %d descriptors, past the %d this process sets aside for watches (half its open-file limit; raise it with ulimit -n)",
		errWatchBudget, record.Quote(d.root), d.used+cost, d.budget)
	return 0, err
}

// outOfWatches reports whether the kernel refused a watch for want of
// descriptors or watches (inotify's max_user_watches): polling still
// works then.
func outOfWatches(err error) bool {
	return errors.Is(err, errWatchBudget) || errors.Is(err, syscall.EMFILE) ||
		errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOSPC)
}

// startPolling gives up notifications for good: it drops every watch,
// freeing their descriptors, and from then on looks every d.poll (see
// pollLoop). Called by the watcher's goroutine.
func (d *dirWatcher) startPolling(cause error) {
	d.log.Warn("file notifications unavailable for this root; polling", "every", d.poll.String(), "err", cause)
	d.polling = true
	d.known = map[record.StreamID]bool{}
	prefix := d.streams + string(filepath.Separator)
	for dir := range d.watched {
		if rel, ok := strings.CutPrefix(dir, prefix); ok {
			if typ, id, ok := strings.Cut(rel, string(filepath.Separator)); ok && !strings.Contains(id, string(filepath.Separator)) {
				d.known[record.StreamID{Type: typ, ID: id}] = true
			}
		}
	}
	_ = d.w.Close()
	d.watched = map[string]int{}
	d.used = 0
}

// pollLoop looks for new streams every d.poll and reports them, then
// reports that any stream may have grown: what a follower that polls
// does, behind the same Watcher.
func (d *dirWatcher) pollLoop() {
	tick := time.NewTicker(d.poll)
	defer tick.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-tick.C:
		}
		d.rescanOrWarn()
		d.emit(Change{All: true})
	}
}
