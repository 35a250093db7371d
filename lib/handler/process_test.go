package handler

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the stderr copy goroutine of
// os/exec and the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newProc starts nothing; it returns a Process with a safety timeout so a
// broken test fails instead of hanging, closed when the test ends.
func newProc(t *testing.T, cfg Config) *Process {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	p := New(cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

func mustCall(t *testing.T, p *Process, req string) string {
	t.Helper()
	ans, err := p.Call(context.Background(), []byte(req))
	if err != nil {
		t.Fatalf("Call(%s): %v", req, err)
	}
	return string(ans)
}

// pidHandler answers every request with its shell's pid, so a test can
// tell whether a request met the same process or a new one.
const pidHandler = `while IFS= read -r l; do
	case $l in
	*bad*) echo hello ;;
	*slow*) sleep 5 ;;
	*crash*) exit 3 ;;
	esac
	echo "{\"pid\":$$}"
done`

func TestCallRoundTrip(t *testing.T) {
	p := newProc(t, Config{Command: `while IFS= read -r l; do printf '%s\n' "$l"; done`})
	for i := range 5 {
		req := `{"n":` + strconv.Itoa(i) + `}`
		if got := mustCall(t, p, req); got != req {
			t.Fatalf("answer %q, want %q", got, req)
		}
	}
	// An answer far larger than the pipe and the read buffer.
	big := `{"s":"` + strings.Repeat("x", 1<<20) + `"}`
	if got := mustCall(t, p, big); got != big {
		t.Fatalf("big answer: got %d bytes, want %d", len(got), len(big))
	}
}

func TestCallRefusesMultiLineRequest(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler})
	if _, err := p.Call(context.Background(), []byte("{\n}")); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v, want ErrBadRequest", err)
	}
}

func TestCallKeepsProcess(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler})
	first := mustCall(t, p, `{}`)
	for range 3 {
		if got := mustCall(t, p, `{}`); got != first {
			t.Fatalf("answer %s after %s: the process was restarted", got, first)
		}
	}
}

func TestOneShotHandler(t *testing.T) {
	p := newProc(t, Config{Command: `read l; echo '{"state":1}'`})
	for range 3 {
		if got := mustCall(t, p, `{"op":"apply"}`); got != `{"state":1}` {
			t.Fatalf("answer %q", got)
		}
	}
}

func TestOneShotHandlerSlowExit(t *testing.T) {
	// It answers, then takes a moment to exit: the next request is written
	// to the dying process and must be re-sent to a new one.
	p := newProc(t, Config{Command: `read l; echo "{\"pid\":$$}"; sleep 0.2`})
	a, b := mustCall(t, p, `{}`), mustCall(t, p, `{}`)
	if a == b {
		t.Fatalf("both answers %s from one process", a)
	}
}

func TestExitWithoutAnswer(t *testing.T) {
	p := newProc(t, Config{Command: `read l; exit 3`, Name: `handler "crash"`})
	for range 2 { // the second Call starts a new process and fails the same way
		_, err := p.Call(context.Background(), []byte(`{}`))
		if !errors.Is(err, ErrExited) {
			t.Fatalf("err = %v, want ErrExited", err)
		}
		if want := `handler "crash" exited without answering (exit status 3)`; err.Error() != want {
			t.Fatalf("err = %q, want %q", err, want)
		}
	}
}

func TestExitWithoutAnswerIsNotResentTwice(t *testing.T) {
	// The process answered once, so the crash is first taken for a one-shot
	// exit and the request re-sent; the new process crashes on it too, and
	// then the request fails. The next request works again.
	p := newProc(t, Config{Command: pidHandler})
	mustCall(t, p, `{}`)
	_, err := p.Call(context.Background(), []byte(`{"crash":1}`))
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	mustCall(t, p, `{}`)
}

func TestExitWithPartialOutput(t *testing.T) {
	p := newProc(t, Config{Command: `read l; printf oops; exit 1`, Name: "h"})
	_, err := p.Call(context.Background(), []byte(`{}`))
	if want := `h exited without answering (exit status 1): "oops"`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestExitWithoutReading(t *testing.T) {
	// A request larger than the pipe makes the write itself fail (EPIPE).
	p := newProc(t, Config{Command: `exit 5`})
	big := `{"s":"` + strings.Repeat("x", 1<<20) + `"}`
	_, err := p.Call(context.Background(), []byte(big))
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "exit status 5") {
		t.Fatalf("err = %v, want exit status 5", err)
	}
}

func TestBadAnswer(t *testing.T) {
	tests := []struct {
		name, print, want string
	}{
		{"text", `echo hello`, `handler "x" answered with something that is not a JSON object: "hello"`},
		{"array", `echo '[1]'`, `handler "x" answered with something that is not a JSON object: "[1]"`},
		{"two values", `echo '{"a":1} {"b":2}'`, `handler "x" answered with something that is not a JSON object: "{\"a\":1} {\"b\":2}"`},
		{"cut JSON", `echo '{"a":'`, `handler "x" answered with something that is not a JSON object: "{\"a\":"`},
		{"empty line", `echo`, `handler "x" answered with an empty line`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProc(t, Config{Command: `while IFS= read -r l; do ` + tt.print + `; done`, Name: `handler "x"`})
			_, err := p.Call(context.Background(), []byte(`{}`))
			if !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("err = %v, want ErrBadAnswer", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("err = %q\nwant  %q", err, tt.want)
			}
		})
	}
}

func TestBadAnswerIsQuotedShort(t *testing.T) {
	p := newProc(t, Config{Command: `read l; printf '%0500d\n' 0`})
	_, err := p.Call(context.Background(), []byte(`{}`))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if want := strings.Repeat("0", maxQuoted) + "…"; e.Output != want {
		t.Fatalf("Output = %q (%d bytes), want the first %d bytes", e.Output, len(e.Output), maxQuoted)
	}
}

func TestBadAnswerRestarts(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler})
	first := mustCall(t, p, `{}`)
	if _, err := p.Call(context.Background(), []byte(`{"bad":1}`)); !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("err = %v, want ErrBadAnswer", err)
	}
	if again := mustCall(t, p, `{}`); again == first {
		t.Fatalf("answered by the same process %s after a garbage answer", again)
	}
}

func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleep.pid")
	// The sleep runs as a child of the shell: the whole group must die.
	cmd := `while IFS= read -r l; do
		case $l in *slow*) sleep 5 & echo $! > ` + pidFile + `; wait ;; esac
		echo "{\"pid\":$$}"
	done`
	p := newProc(t, Config{Command: cmd, Timeout: 200 * time.Millisecond})
	first := mustCall(t, p, `{}`)
	start := time.Now()
	_, err := p.Call(context.Background(), []byte(`{"slow":1}`))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "did not answer within 200ms") {
		t.Fatalf("err = %q", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timed out after %s", d)
	}
	if again := mustCall(t, p, `{}`); again == first {
		t.Fatalf("answered by the same process %s after a timeout", again)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// waitGone fails the test unless pid dies soon. A zombie counts as dead:
// who reaps an orphan depends on the machine's init.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 100 {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d of the handler's group is still running", pid)
}

func TestContextCancel(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler})
	first := mustCall(t, p, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Call(ctx, []byte(`{"slow":1}`))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancelled after %s", d)
	}
	if again := mustCall(t, p, `{}`); again == first {
		t.Fatalf("answered by the same process %s after a cancellation", again)
	}
}

func TestContextDeadline(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, []byte(`{"slow":1}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	mustCall(t, p, `{}`)
}

func TestCancelledBeforeCall(t *testing.T) {
	p := newProc(t, Config{Command: pidHandler})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Call(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNotFound(t *testing.T) {
	var stderr syncBuffer
	p := newProc(t, Config{Command: "fold-no-such-handler --flag", Stderr: &stderr})
	_, err := p.Call(context.Background(), []byte(`{}`))
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v (%T), want *NotFoundError", err, err)
	}
	if want := `handler "fold-no-such-handler --flag": command not found: "fold-no-such-handler --flag"`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if !strings.Contains(stderr.String(), "not found") {
		t.Fatalf("stderr = %q: sh's message did not pass through", stderr.String())
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("FOLD_PROTOCOL", "0") // an inherited value must not win
	t.Setenv("FOLD_TEST_INHERITED", "yes")
	p := newProc(t, Config{
		Command: `read l; printf '{"protocol":"%s","role":"%s","inherited":"%s"}\n' "$FOLD_PROTOCOL" "$FOLD_ROLE" "$FOLD_TEST_INHERITED"`,
		Env:     []string{"FOLD_ROLE=aggregate"},
	})
	if got, want := mustCall(t, p, `{}`), `{"protocol":"1","role":"aggregate","inherited":"yes"}`; got != want {
		t.Fatalf("answer %s, want %s", got, want)
	}
}

func TestDebugAndStderr(t *testing.T) {
	var debug, stderr syncBuffer
	p := newProc(t, Config{
		Command: `while IFS= read -r l; do echo "saw $l" >&2; echo '{"ok":1}'; done`,
		Debug:   &debug,
		Stderr:  &stderr,
	})
	mustCall(t, p, `{"op":"x"}`)
	if want := "fold: protocol > {\"op\":\"x\"}\nfold: protocol < {\"ok\":1}\n"; debug.String() != want {
		t.Fatalf("debug copy %q, want %q", debug.String(), want)
	}
	p.Close() // waits for the stderr copy
	if want := "saw {\"op\":\"x\"}\n"; stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestClose(t *testing.T) {
	// Never started.
	p := New(Config{Command: `cat >/dev/null; sleep 30`})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}

	// Started, and ignores the end of its input.
	p = New(Config{Command: `read l; echo '{}'; cat >/dev/null; sleep 30`})
	if _, err := p.Call(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > closeGrace+3*time.Second {
		t.Fatalf("Close took %s", d)
	}
}

func TestStartupIsNotTheAnswer(t *testing.T) {
	// The handler takes longer to start than a request may take, then
	// answers at once: its first request gets the start-up allowance on
	// top of the timeout, its later ones only the timeout.
	p := newProc(t, Config{
		Command: `sleep 0.5; while IFS= read -r l; do
			case $l in *slow*) sleep 5 ;; esac
			echo '{}'
		done`,
		Timeout: 200 * time.Millisecond,
		Startup: 2 * time.Second,
	})
	mustCall(t, p, `{}`)
	mustCall(t, p, `{}`)
	_, err := p.Call(context.Background(), []byte(`{"slow":1}`))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not answer within 200ms") {
		t.Fatalf("err = %v, want a plain ErrTimeout", err)
	}
	// The next process starts slowly too, and its first request is let be.
	mustCall(t, p, `{}`)
}
