package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/watch"
)

// isTerminal reports whether f is a terminal: progress is for people, and
// nothing is drawn into a file or a pipe.
func isTerminal(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.IoctlGetTermios(int(fd), getTermios)
		tty = err == nil
	})
	return tty
}

// Progress is shown only once a catch-up has run this long, so quick runs
// print nothing, and then redrawn at most this often.
const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// progress draws one self-erasing status line on a terminal's stderr
// during a long catch-up or rebuild.
type progress struct {
	w       io.Writer
	name    string
	start   time.Time
	last    time.Time
	visible bool
}

func newProgress(w io.Writer, name string) *progress {
	return &progress{w: w, name: name, start: time.Now()}
}

func (p *progress) update(s watch.Progress) {
	now := time.Now()
	if now.Sub(p.start) < progressDelay || now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.visible = now, true
	rate := float64(s.Records) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "\r\x1b[Kfold-project: %s: catching up: %d/%d streams, %d records (%.0f/s)",
		p.name, s.Done, s.Streams, s.Records, rate)
}

// done erases the line; the next catch-up (a rebuild) starts afresh.
func (p *progress) done() {
	if p.visible {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	p.visible = false
	p.start, p.last = time.Now(), time.Time{}
}
