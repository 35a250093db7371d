package app

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/watch"
)

// Progress is shown only once a run has gone on this long, so quick runs
// print nothing, and then redrawn at most this often.
const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 100 * time.Millisecond
)

// Progress draws one self-erasing status line on a terminal's stderr
// during a long run: progress is for people, and nothing is drawn into a
// file or a pipe. A nil *Progress draws nothing.
type Progress struct {
	f       *os.File
	prog    string
	start   time.Time
	last    time.Time
	visible bool
}

// NewProgress returns a status line on stderr, or nil when stderr is not a
// terminal.
func NewProgress(stderr io.Writer, prog string) *Progress {
	if !IsTerminal(stderr) {
		return nil
	}
	return &Progress{f: stderr.(*os.File), prog: prog, start: time.Now()}
}

// IsTerminal reports whether w is a terminal. A program that streams
// records to stdout shows no progress when stdout is one: the status line
// would mix with them.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && termWidth(f) > 0
}

// Show draws the line, "prog: " and the message, cut to the terminal's
// width so that it never wraps (a wrapped line could not be erased).
func (p *Progress) Show(format string, args ...any) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < progressDelay || now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.visible = now, true
	line := []rune(p.prog + ": " + fmt.Sprintf(format, args...))
	if w := termWidth(p.f); w > 1 && len(line) > w-1 {
		line = line[:w-1]
	}
	fmt.Fprintf(p.f, "\r\x1b[K%s", string(line))
}

// CatchUp returns a watch.Source Progress callback showing how far a
// catch-up has got.
func (p *Progress) CatchUp(what string) func(watch.Progress) {
	if p == nil {
		return nil
	}
	return func(s watch.Progress) {
		rate := float64(s.Records) / time.Since(p.start).Seconds()
		p.Show("%s: catching up: %d/%d streams, %d records (%.0f/s)", what, s.Done, s.Streams, s.Records, rate)
	}
}

// Done erases the line; the next run of it (a rebuild) starts afresh.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	if p.visible {
		fmt.Fprint(p.f, "\r\x1b[K")
	}
	p.visible = false
	p.start, p.last = time.Now(), time.Time{}
}

// termWidth is the width of the terminal f is, 0 when it is not one.
func termWidth(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	width := 0
	_ = rc.Control(func(fd uintptr) {
		if ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ); err == nil {
			width = int(ws.Col)
			if width == 0 {
				width = 80 // a terminal that does not say
			}
		}
	})
	return width
}
