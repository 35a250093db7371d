//go:build unix && !linux

package vfs

import "golang.org/x/sys/unix"

// noAtime is 0: O_NOATIME is Linux's. Mounts there usually update access
// times lazily anyway (relatime, noatime).
const noAtime = 0

// exchange is not offered: macOS's renamex_np(RENAME_SWAP) exists but is
// untested here, and the BSDs have nothing like it. Callers rename.
func exchange(a, b string) error { return unix.ENOTSUP }

// groupParallel bounds the flushes a group runs at once where there is no
// syncfs(2).
const groupParallel = 8

// syncGroup flushes each file and directory of a group, several at a
// time: with no call that flushes a whole file system (syncfs is Linux
// only, and sync(2) returns before the data is on disk), overlapping the
// flushes lets the file system commit them together.
func (o osFS) syncGroup(files []File, dirs []string) error {
	return o.syncEach(files, dirs, groupParallel)
}
