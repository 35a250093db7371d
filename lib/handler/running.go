package handler

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// running is one started instance of a handler command.
type running struct {
	cmd      *exec.Cmd
	stdin    *os.File // our end; os.Pipe so writes take deadlines
	stdout   *os.File // our end; os.Pipe so reads take deadlines
	lines    *lineReader
	answered int           // answers this instance gave
	done     chan struct{} // closed once cmd.Wait returned
}

// start runs the command in a process group of its own, so that killing
// the group also kills what the shell started.
func (p *Process) start() (*running, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	cmd := exec.Command("/bin/sh", "-c", p.cfg.Command)
	// Last, so that it wins over an inherited or passed value.
	cmd.Env = append(append(os.Environ(), p.cfg.Env...), "FOLD_PROTOCOL=1")
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = p.cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	err = cmd.Start()
	// The child has its own copies; ours would keep the pipes open after it
	// exits and hide the EOF and EPIPE that tell us so.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, &Error{Handler: p.name, Reason: "could not be started: " + err.Error(), Err: err}
	}
	rp := &running{
		cmd:    cmd,
		stdin:  inW,
		stdout: outR,
		lines:  newLineReader(outR, readBufSize),
		done:   make(chan struct{}),
	}
	// One goroutine per process lifetime reaps it, so that exited() can
	// tell whether it is gone without blocking.
	go func() {
		_ = cmd.Wait() // the outcome is read from cmd.ProcessState
		close(rp.done)
	}()
	return rp, nil
}

// discard ends the current process: it closes its stdin so a well-behaved
// handler exits, waits up to grace for that, then kills the process group.
func (p *Process) discard(grace time.Duration) {
	rp := p.proc
	p.proc = nil
	rp.stdin.Close()
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-rp.done:
		case <-t.C:
		}
		t.Stop()
	}
	if !rp.exited() {
		// Only while the leader is unreaped: afterwards its pid, and so the
		// group id, could belong to someone else.
		_ = syscall.Kill(-rp.cmd.Process.Pid, syscall.SIGKILL)
		<-rp.done
	}
	rp.stdout.Close()
}

func (rp *running) exited() bool {
	select {
	case <-rp.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status, or -1 if it was killed by a signal.
// It must be called after the process was reaped.
func (rp *running) exitCode() int {
	if rp.cmd.ProcessState == nil {
		return -1
	}
	return rp.cmd.ProcessState.ExitCode()
}

// status says how it ended, e.g. "exit status 3" or "signal: killed".
func (rp *running) status() string {
	if rp.cmd.ProcessState == nil {
		return "status unknown"
	}
	return rp.cmd.ProcessState.String()
}
