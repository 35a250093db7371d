//go:build !linux

package consumer

import "time"

// unread cannot be told here: a pipe's reader is taken to have read what
// was written (docs/delivery.md says so for each system).
func unread(int) (int, bool) { return 0, false }

func readerGone(int, time.Duration) bool { return true }
