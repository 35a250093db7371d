//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package store

import (
	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/vfs"
)

// watchBudget is how many descriptors file notifications may hold: kqueue
// takes one per watched directory and one per file in it, so following
// 100,000 streams would take some 300,000. Half the open-file limit (Go
// raises the soft limit to the hard one at start) is set aside for
// watches; the rest is for logs, pipes and handlers.
func watchBudget() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 128
	}
	return int(min(rl.Cur, 1<<30) / 2)
}

// budgetHint says how to raise the budget.
const budgetHint = "half its open-file limit; raise it with ulimit -n"

// watchCost is what a watch of dir holds: a descriptor for it and one for
// each entry in it (fsnotify watches each file to see writes); a stream's
// directory holds its log and views/.
func watchCost(fsys vfs.FS, dir string) int {
	entries, _ := fsys.ReadDir(dir)
	return 1 + len(entries)
}
