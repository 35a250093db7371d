package app

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/watch"
)

// openPTY returns a pseudo-terminal's two ends, the terminal cols wide.
func openPTY(t *testing.T, cols uint16) (master, term *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skip("no pseudo-terminal here:", err)
	}
	t.Cleanup(func() { master.Close() })
	// Through SyscallConn, not Fd, which would make reads block and
	// deadlines useless.
	var n int
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		t.Skip("set the pseudo-terminal up:", err)
	}
	term, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skip("open the pseudo-terminal:", err)
	}
	t.Cleanup(func() { term.Close() })
	err = control(term, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: 24})
	})
	if err != nil {
		t.Fatal(err)
	}
	return master, term
}

// control calls fn with f's descriptor.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// drawn reads what was drawn on the terminal so far.
func drawn(t *testing.T, master *os.File) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 256)
	for {
		if err := master.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Skip("no read deadline on the pseudo-terminal:", err)
		}
		n, err := master.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestProgressOnTerminal(t *testing.T) {
	master, term := openPTY(t, 20)
	if !IsTerminal(term) {
		t.Fatal("a pseudo-terminal is not taken for a terminal")
	}
	p := NewProgress(term, "prog")
	if p == nil {
		t.Fatal("no progress line on a terminal")
	}
	// A quick run draws nothing.
	p.Show("early")
	if got := drawn(t, master); got != "" {
		t.Errorf("drawn before the delay: %q", got)
	}
	// Past the delay: one line, cut to the terminal's width less one.
	p.start = time.Now().Add(-2 * progressDelay)
	p.Show("%d records and more", 12345)
	if got, want := drawn(t, master), "\r\x1b[Kprog: 12345 records"; got != want { // 19 runes: the width less one
		t.Errorf("drawn %q, want %q", got, want)
	}
	// Redrawn at most every progressEvery.
	p.Show("again")
	if got := drawn(t, master); got != "" {
		t.Errorf("redrawn at once: %q", got)
	}
	p.Done()
	if got := drawn(t, master); got != "\r\x1b[K" {
		t.Errorf("Done drew %q, want the line erased", got)
	}
	// The next run of it starts afresh, and a catch-up shows its counts.
	p.start = time.Now().Add(-2 * progressDelay)
	p.CatchUp("x")(watch.Progress{Done: 1, Streams: 2, Records: 3})
	if got := drawn(t, master); !strings.HasPrefix(got, "\r\x1b[Kprog: x: catching") {
		t.Errorf("catch-up drew %q", got)
	}
}
