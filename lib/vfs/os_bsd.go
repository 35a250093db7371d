//go:build unix && !linux && !darwin

package vfs

import "golang.org/x/sys/unix"

// dataSync is fsync(2): the BSDs' fdatasync is newer than the releases
// fold supports and x/sys/unix does not offer it; fsync does more (the
// inode's times too), never less.
func dataSync(fd int) error { return unix.Fsync(fd) }

// fullSync makes a directory's entries durable.
func fullSync(fd int) error { return unix.Fsync(fd) }
