package app

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fold-es/fold/lib/watch"
)

// CatchHangup makes a closed stdout an error the run handles (finishing
// what is in hand and saving its checkpoint) instead of a SIGPIPE death,
// and, for a run that follows the root and so may write nothing for a long
// time, calls cancel as soon as stdout's reader goes away. Call the
// returned func when the run ends.
func CatchHangup(stop context.Context, cancel func(), stdout io.Writer, follow bool) (release func()) {
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	if f, ok := stdout.(*os.File); ok && follow {
		go func(hup <-chan struct{}) {
			select {
			case <-hup:
				cancel()
			case <-stop.Done():
			}
		}(watch.Hangup(stop, f))
	}
	return func() { signal.Stop(pipe) }
}
