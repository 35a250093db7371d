//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package store

import "golang.org/x/sys/unix"

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
