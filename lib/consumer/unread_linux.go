package consumer

import (
	"time"

	"golang.org/x/sys/unix"
)

// unread is how many bytes written into the pipe fd its reader has not
// taken yet; ok is false where that cannot be told.
func unread(fd int) (n int, ok bool) {
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	return n, err == nil
}

// readerGone waits up to d for the pipe fd's reader to close its end.
func readerGone(fd int, d time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd)}} // no events asked: POLLERR is always reported
	n, err := unix.Poll(fds, int(d.Milliseconds()))
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
}
