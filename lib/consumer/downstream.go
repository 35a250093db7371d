package consumer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// Downstream is where a consumer's output goes, and what tells that it was
// taken. The consumer writes a batch, calls Confirm, and moves its
// checkpoint past the batch only when Confirm returned nil.
type Downstream interface {
	io.Writer
	// Confirm hands over what was written since the last Confirm and
	// returns once it is confirmed. An error means it was not: none of it
	// may count as delivered.
	Confirm() error
}

// Pipe is the Downstream of a program's stdout: what is written goes to
// the reader, who cannot confirm anything in the run, so Confirm has
// nothing to wait for. It suits a Pending consumer (Commit confirms, later)
// and the at-most-once mode that takes writing as delivery.
type Pipe struct{ io.Writer }

// Confirm returns nil: writing was all a pipe could do.
func (Pipe) Confirm() error { return nil }

// ErrUnread: the reader went away without taking all that was written.
var ErrUnread = errors.New("the reader stopped before taking all its input")

// drainPoll is how often Drained looks at the pipe.
const drainPoll = 20 * time.Millisecond

// Drained waits until the reader has taken everything written into the
// pipe, or has gone, leaving some of it unread (ErrUnread): a reader that
// stopped half-way must not see its run confirmed. What a reader took into
// its own buffers cannot be seen from here, so a reader that exits 0 after
// reading part is taken at its word. Where the pipe cannot be looked into
// (not Linux, or not a pipe), it returns nil at once.
func (p Pipe) Drained() error {
	f, ok := p.Writer.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var result error
	_ = rc.Control(func(u uintptr) {
		fd := int(u)
		for {
			n, ok := unread(fd)
			if !ok || n == 0 {
				return
			}
			if readerGone(fd, drainPoll) {
				result = fmt.Errorf("%w (%d bytes unread)", ErrUnread, n)
				return
			}
		}
	})
	return result
}

// Exec is the Downstream that runs a command per batch (--exec CMD): the
// command is started, with /bin/sh -c, at the first line of a batch and
// reads the batch on its stdin; Confirm closes its stdin and waits, and
// exit status 0 confirms the batch. Its stdout and stderr are the
// program's.
type Exec struct {
	Command string
	Stdout  io.Writer
	Stderr  io.Writer
	Env     []string // added to the program's environment

	mu    sync.Mutex
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines int // lines written to the running command
}

// ExecError is a batch the command did not confirm.
type ExecError struct {
	Command string
	Lines   int // lines of the batch written to it
	Status  int // its exit status; -1 when it could not run or was killed
	Err     error
}

func (e *ExecError) Error() string {
	what := fmt.Sprintf("a batch of %d line(s) was not confirmed", e.Lines)
	if _, exited := errors.AsType[*exec.ExitError](e.Err); exited && e.Status > 0 {
		return fmt.Sprintf("--exec %s exited with status %d: %s", record.Quote(e.Command), e.Status, what)
	}
	return fmt.Sprintf("--exec %s: %v: %s", record.Quote(e.Command), e.Err, what)
}

func (e *ExecError) Unwrap() error { return e.Err }

// Retryable reports whether the command said "try again later" (exit 75,
// EX_TEMPFAIL).
func (e *ExecError) Retryable() bool { return e.Status == 75 }

// Write writes to the running command, starting it for a new batch. A
// command that stopped reading before the end fails the batch.
func (e *Exec) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		if err := e.startLocked(); err != nil {
			return 0, err
		}
	}
	n, err := e.stdin.Write(p)
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			err = errors.New("it stopped reading its input")
		}
		return n, e.endLocked(err)
	}
	e.lines += bytes.Count(p, []byte{'\n'})
	return n, nil
}

// Confirm ends the batch: the command's stdin is closed, and the batch is
// confirmed when it exits with status 0. With nothing written there is
// nothing to confirm.
func (e *Exec) Confirm() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return nil
	}
	return e.endLocked(nil)
}

// Close ends a batch in progress without confirming it, killing the
// command: for a run that stops on an error.
func (e *Exec) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return nil
	}
	_ = e.cmd.Process.Kill()
	_ = e.endLocked(nil)
	return nil
}

func (e *Exec) startLocked() error {
	cmd := exec.Command("/bin/sh", "-c", e.Command)
	cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
	cmd.Env = append(os.Environ(), e.Env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return &ExecError{Command: e.Command, Status: -1, Err: err}
	}
	if err := cmd.Start(); err != nil {
		return &ExecError{Command: e.Command, Status: -1, Err: err}
	}
	e.cmd, e.stdin, e.lines = cmd, in, 0
	return nil
}

// endLocked closes the command's stdin and waits for it; failed is why the
// batch already failed, if it did.
func (e *Exec) endLocked(failed error) error {
	cmd, in, lines := e.cmd, e.stdin, e.lines
	e.cmd, e.stdin, e.lines = nil, nil, 0
	_ = in.Close() // EOF: the command finishes the batch
	werr := cmd.Wait()
	if failed == nil && werr == nil {
		return nil
	}
	err := failed
	if err == nil {
		err = werr
	}
	// ExitCode is -1 for a command killed by a signal.
	return &ExecError{Command: e.Command, Lines: lines, Status: cmd.ProcessState.ExitCode(), Err: err}
}
