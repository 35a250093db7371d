package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// fallbackPoll is how often a watcher without notifications reads the
// journal and looks at the directories' modification times: a look costs
// a few system calls whatever the root holds.
const fallbackPoll = 100 * time.Millisecond

// errWatchBudget is a watch past the budget.
var errWatchBudget = errors.New("too many directories to watch")

// overBudget returns the descriptors a watch of dir is taken to hold
// (watchCost), or an error when they would pass the budget.
func (d *dirWatcher) overBudget(dir string) (int, error) {
	if d.budget < 0 {
		return 0, nil
	}
	cost := watchCost(d.fs, dir)
	if d.used+cost <= d.budget {
		return cost, nil
	}
	return 0, fmt.Errorf("%w: watching %s would take %d, past the %d this process sets aside for watches (%s)",
		errWatchBudget, record.Quote(dir), d.used+cost, d.budget, budgetHint)
}

// outOfWatches reports whether a watch was refused for want of
// descriptors or watches (the budget, inotify's max_user_watches): polling
// still works then.
func outOfWatches(err error) bool {
	return errors.Is(err, errWatchBudget) || errors.Is(err, syscall.EMFILE) ||
		errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOSPC)
}

// startPolling gives up notifications for good: it drops every watch and
// from then on reads the journal and looks at the directories every
// fallbackPoll. Called by the event loop.
func (d *dirWatcher) startPolling(cause error) {
	if d.w == nil {
		return
	}
	d.log.Warn("file notifications unavailable for this root; polling", "every", fallbackPoll.String(), "err", cause)
	d.stopNotify()
	d.poll = fallbackPoll
	d.scan.polling(d.poll)
	d.scan.request(scanAll | scanPeriodic)
}

// isStreamDir reports whether a watched directory is a stream's.
func (d *dirWatcher) isStreamDir(dir string) bool {
	rel, ok := strings.CutPrefix(dir, d.streams+string(filepath.Separator))
	return ok && strings.Count(rel, string(filepath.Separator)) == 1
}

// watchStreams watches the directories of every stream in ids, the
// scanner's list of the selected streams; false when they do not all fit
// (the watches it made are dropped: the scanner covers them).
func (d *dirWatcher) watchStreams(ids []record.StreamID) bool {
	if d.w == nil {
		return false
	}
	for _, id := range ids {
		// A stream removed since it was listed needs no watch: add
		// reports it and goes on.
		if _, err := d.add(filepath.Join(d.streams, id.Type, id.ID)); err != nil {
			d.log.Debug("not every stream can be watched; scanning", "streams", len(ids), "err", err)
			d.dropStreamWatches()
			return false
		}
	}
	d.perStream = true
	return true
}

// dropStreamWatches drops the watches of the streams' directories.
func (d *dirWatcher) dropStreamWatches() {
	for dir := range d.watched {
		if d.isStreamDir(dir) {
			d.unwatch(dir)
		}
	}
	d.perStream = false
}

// giveUpStreamWatches drops the stream watches when a new stream does not
// fit: from then on the scanner covers every stream.
func (d *dirWatcher) giveUpStreamWatches(err error) {
	d.log.Info("more streams than can be watched; scanning the logs instead", "err", err)
	d.dropStreamWatches()
	d.scan.request(scanAll | scanPeriodic)
}
