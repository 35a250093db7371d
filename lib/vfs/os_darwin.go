package vfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// dataSync is fcntl(F_FULLFSYNC): on macOS fsync(2) hands the data to the
// drive but does not make the drive write its cache to stable storage,
// so a power cut can still lose what fsync returned for; F_FULLFSYNC
// does (it is what os.File.Sync and SQLite's fullfsync do). File systems
// that do not support it (SMB mounts) fall back to fsync, as Go does.
func dataSync(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_FULLFSYNC, 0)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOTTY) {
		err = unix.Fsync(fd)
	}
	return err
}

// fullSync makes a directory's entries durable, the same way.
func fullSync(fd int) error { return dataSync(fd) }
