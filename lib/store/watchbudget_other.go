//go:build !(darwin || dragonfly || freebsd || netbsd || openbsd)

package store

// watchBudget is unlimited where a watch holds no descriptor (inotify on
// Linux): a kernel that refuses a watch (max_user_watches) makes the
// watcher poll all the same.
func watchBudget() int { return -1 }
