package watch

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// hangupPoll bounds how long the hangup check sleeps in the kernel, so it
// notices ctx being done.
const hangupPoll = 250 // milliseconds

// Hangup returns a channel that is closed when no one reads from f any more:
// f is a pipe or socket whose reading end was closed. A follower waiting
// for appends writes nothing, so it would not otherwise notice that
// `fold-watch --follow | head -1` is over until the next append. For
// anything else (a file, a terminal) the channel is never closed. The check
// stops when ctx is done.
func Hangup(ctx context.Context, f *os.File) <-chan struct{} {
	done := make(chan struct{})
	st, err := f.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return done
	}
	// SyscallConn rather than Fd, which would switch f to blocking mode.
	rc, err := f.SyscallConn()
	if err != nil {
		return done
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return done
	}
	go func() {
		fds := []unix.PollFd{{Fd: int32(fd)}} // no events asked: POLLERR and POLLHUP are always reported
		for ctx.Err() == nil {
			n, err := unix.Poll(fds, hangupPoll)
			if err != nil && err != unix.EINTR {
				return
			}
			if n > 0 && fds[0].Revents&unix.POLLNVAL != 0 {
				return // f was closed: nothing more to learn
			}
			if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
				close(done)
				return
			}
		}
	}()
	return done
}
