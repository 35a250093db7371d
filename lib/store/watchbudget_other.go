//go:build !(darwin || dragonfly || freebsd || netbsd || openbsd)

package store

import "github.com/fold-es/fold/lib/vfs"

// watchBudget is how many inotify watches a follower takes on Linux, where
// a watch holds no descriptor but the kernel limits them per user
// (fs.inotify.max_user_watches, 8,192 on older kernels) for every process
// of the user together. A follower takes at most this many, so several
// can follow large roots side by side; a root whose streams do not fit is
// covered by the journal and the scan instead (notify.go).
func watchBudget() int { return 8192 }

// budgetHint says how to raise the budget.
const budgetHint = "set FOLD_WATCH_BUDGET to change it"

// watchCost is what a watch holds: one inotify watch.
func watchCost(vfs.FS, string) int { return 1 }
