package handler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkGoroutines fails the test if, once the test and its cleanups are
// done, more goroutines run than when it started: every reader and reaper
// must end with Close. Register it before anything that starts processes.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// inFlight is how many requests the running process was sent and has not
// answered.
func (p *Process) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.fifo.n
}

func (p *Process) peakInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// waitInFlight waits until the process has n requests in flight, so that a
// test can tell the order they were written in.
func waitInFlight(t *testing.T, p *Process, n int) {
	t.Helper()
	for range 500 {
		if p.inFlight() == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d requests in flight, want %d", p.inFlight(), n)
}

// result is what a call started in the background returned.
type result struct {
	ans string
	err error
}

func goCall(ctx context.Context, p *Process, req string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ans, err := p.Call(ctx, []byte(req))
		ch <- result{string(ans), err}
	}()
	return ch
}

// hammer makes callers×calls concurrent calls, each with a request made by
// req, and checks that each caller gets the answer want gives for its own
// request.
func hammer(t *testing.T, c Caller, callers, calls int, req, want func(g, i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range calls {
				ans, err := c.Call(context.Background(), []byte(req(g, i)))
				if err != nil {
					t.Errorf("caller %d, call %d: %v", g, i, err)
					return
				}
				if w := want(g, i); string(ans) != w {
					t.Errorf("caller %d, call %d: answer %s, want %s", g, i, ans, w)
					return
				}
			}
		})
	}
	wg.Wait()
}

func echoReq(g, i int) string { return fmt.Sprintf(`{"id":"%d-%d"}`, g, i) }

func TestPipelineShell(t *testing.T) {
	checkGoroutines(t)
	p := newProc(t, Config{Command: `while IFS= read -r l; do printf '%s\n' "$l"; done`})
	hammer(t, p, 16, 40, echoReq, echoReq)
	if n := p.peakInFlight(); n < 2 {
		t.Fatalf("at most %d request in flight: nothing was pipelined", n)
	}
}

func TestPipelineGoCounter(t *testing.T) {
	bin := buildCounter(t)
	cfg := Config{Command: "'" + bin + "'", Timeout: 20 * time.Second, Stderr: testWriter{t}}
	// Each caller's request carries its own state, so the answer tells
	// whose it is.
	req := func(g, i int) string {
		return fmt.Sprintf(`{"op":"handle","aggregate_type":"counter","instance_id":"i%d","version":%d,"state":{"value":%d},"command":{"type":"Increment"},"context":{}}`, g, i, g*1000+i)
	}
	want := func(g, i int) string {
		return fmt.Sprintf(`{"events":[{"type":"Incremented","data":null}],"state":{"value":%d}}`, g*1000+i+1)
	}
	t.Run("process", func(t *testing.T) {
		checkGoroutines(t)
		p := newProc(t, cfg)
		hammer(t, p, 16, 50, req, want)
		if n := p.peakInFlight(); n < 2 {
			t.Fatalf("at most %d request in flight: nothing was pipelined", n)
		}
	})
	t.Run("pool", func(t *testing.T) {
		checkGoroutines(t)
		pool := NewPool(cfg, 2)
		t.Cleanup(func() { pool.Close() })
		hammer(t, pool, 16, 50, req, want)
		pool.mu.Lock()
		procs := pool.procs
		pool.mu.Unlock()
		if len(procs) > 2 {
			t.Fatalf("%d processes, want at most 2", len(procs))
		}
		peak := 0
		for _, proc := range procs {
			peak = max(peak, proc.peakInFlight())
		}
		if peak < 2 {
			t.Fatalf("at most %d request in flight: nothing was pipelined", peak)
		}
	})
}

func TestOneShotHandlerConcurrent(t *testing.T) {
	checkGoroutines(t)
	p := newProc(t, Config{Command: `read l; printf '%s\n' "$l"`})
	hammer(t, p, 8, 3, echoReq, echoReq)
	if n := p.peakInFlight(); n != 1 {
		t.Fatalf("%d requests in flight to a one-shot handler, want 1", n)
	}
}

// pipeHandler echoes each request with its pid; a request containing
// "hold" is answered after a moment, so that the ones behind it queue up.
const pipeHandler = `while IFS= read -r l; do
	case $l in
	*hold*) sleep 0.3 ;;
	*slow*) sleep 5 ;;
	*crash*) exit 3 ;;
	esac
	printf '{"pid":%s,"req":%s}\n' $$ "$l"
done`

// pidOf returns the pid in an answer of pipeHandler.
func pidOf(t *testing.T, ans string) string {
	t.Helper()
	pid, _, ok := strings.Cut(strings.TrimPrefix(ans, `{"pid":`), ",")
	if !ok {
		t.Fatalf("answer %s has no pid", ans)
	}
	return pid
}

// prove makes the handler answer enough requests to be sent several at once.
func prove(t *testing.T, p *Process) (pid string) {
	t.Helper()
	for range provenAfter {
		pid = pidOf(t, mustCall(t, p, `{}`))
	}
	return pid
}

// queue starts calls with the requests one after the other, each once the
// one before is in flight, so that they are written in this order behind
// the n already in flight.
func queue(t *testing.T, p *Process, n int, reqs ...string) []<-chan result {
	t.Helper()
	var out []<-chan result
	for _, req := range reqs {
		out = append(out, goCall(context.Background(), p, req))
		n++
		waitInFlight(t, p, n)
	}
	return out
}

func TestPipelineTimeoutResendsOthers(t *testing.T) {
	checkGoroutines(t)
	p := newProc(t, Config{Command: pipeHandler, Timeout: 300 * time.Millisecond})
	first := prove(t, p)
	rs := queue(t, p, 0, `{"slow":1}`, `{"a":1}`, `{"b":2}`, `{"c":3}`)
	if r := <-rs[0]; !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("slow request: %v, want ErrTimeout", r.err)
	}
	for i, want := range []string{`{"a":1}`, `{"b":2}`, `{"c":3}`} {
		r := <-rs[i+1]
		if r.err != nil {
			t.Fatalf("%s behind the slow one: %v", want, r.err)
		}
		if !strings.HasSuffix(r.ans, `"req":`+want+`}`) {
			t.Fatalf("%s answered %s", want, r.ans)
		}
		if pidOf(t, r.ans) == first {
			t.Fatalf("%s answered by the process that timed out", want)
		}
	}
}

func TestPipelineCrash(t *testing.T) {
	checkGoroutines(t)
	p := newProc(t, Config{Command: pipeHandler})
	first := prove(t, p)
	reqs := []string{`{"hold":1}`, `{"x":1}`, `{"crash":1}`, `{"x":2}`, `{"x":3}`}
	rs := queue(t, p, 0, reqs...)
	for i, req := range reqs {
		r := <-rs[i]
		switch {
		case i == 2:
			if !errors.Is(r.err, ErrExited) || !strings.Contains(r.err.Error(), "exit status 3") {
				t.Fatalf("crash: err = %v, want exit status 3", r.err)
			}
		case r.err != nil:
			t.Fatalf("%s: %v", req, r.err)
		case !strings.HasSuffix(r.ans, `"req":`+req+`}`):
			t.Fatalf("%s answered %s", req, r.ans)
		case i < 2 && pidOf(t, r.ans) != first:
			t.Fatalf("%s, before the crash, answered by a new process", req)
		case i > 2 && pidOf(t, r.ans) == first:
			t.Fatalf("%s, after the crash, answered by the crashed process", req)
		}
	}
}

func TestPipelineBadAnswer(t *testing.T) {
	checkGoroutines(t)
	p := newProc(t, Config{Command: `while IFS= read -r l; do
		case $l in *bad*) echo oops ;; *hold*) sleep 0.3; printf '%s\n' "$l" ;; *) printf '%s\n' "$l" ;; esac
	done`})
	mustCall(t, p, `{}`)
	mustCall(t, p, `{}`)
	reqs := []string{`{"hold":1}`, `{"bad":1}`, `{"x":1}`, `{"x":2}`}
	rs := queue(t, p, 0, reqs...)
	for i, req := range reqs {
		r := <-rs[i]
		if i == 1 {
			if !errors.Is(r.err, ErrBadAnswer) || !strings.Contains(r.err.Error(), `"oops"`) {
				t.Fatalf("bad: err = %v, want ErrBadAnswer quoting oops", r.err)
			}
			continue
		}
		if r.err != nil || r.ans != req {
			t.Fatalf("%s: answer %s, err %v", req, r.ans, r.err)
		}
	}
}

func TestPipelineCancelBehind(t *testing.T) {
	// A cancelled request behind another keeps its place: its answer is
	// dropped and the process lives on.
	checkGoroutines(t)
	p := newProc(t, Config{Command: pipeHandler})
	first := prove(t, p)
	held := queue(t, p, 0, `{"hold":1}`)[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := goCall(ctx, p, `{"dropped":1}`)
	waitInFlight(t, p, 2)
	after := queue(t, p, 2, `{"after":1}`)[0]
	start := time.Now()
	cancel()
	if r := <-cancelled; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("a cancelled call returned after %s", d)
	}
	for _, ch := range []<-chan result{held, after} {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		if pid := pidOf(t, r.ans); pid != first {
			t.Fatalf("answered by %s, not %s: the process was restarted", pid, first)
		}
		if strings.Contains(r.ans, "dropped") {
			t.Fatalf("the dropped request's answer %s went to another call", r.ans)
		}
	}
	if pid := pidOf(t, mustCall(t, p, `{}`)); pid != first {
		t.Fatalf("answered by %s, not %s: the process was restarted", pid, first)
	}
}

func TestPipelineCancelHead(t *testing.T) {
	// Cancelling the request the handler is on kills it; the ones behind
	// are re-sent.
	checkGoroutines(t)
	p := newProc(t, Config{Command: pipeHandler})
	first := prove(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	slow := goCall(ctx, p, `{"slow":1}`)
	waitInFlight(t, p, 1)
	behind := queue(t, p, 1, `{"behind":1}`)[0]
	cancel()
	if r := <-slow; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	r := <-behind
	if r.err != nil {
		t.Fatal(r.err)
	}
	if pidOf(t, r.ans) == first {
		t.Fatalf("answered by the process whose request was cancelled")
	}
}

func TestPipelineClose(t *testing.T) {
	// Close lets the handler answer what it was sent.
	checkGoroutines(t)
	p := New(Config{Command: pipeHandler, Timeout: 20 * time.Second})
	prove(t, p)
	rs := queue(t, p, 0, `{"hold":1}`, `{"x":1}`, `{"x":2}`)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range rs {
		if r := <-ch; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if _, err := p.Call(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestPipelineCloseKillsStuck(t *testing.T) {
	// A handler that does not answer within closeGrace of Close is killed,
	// and what it had in flight fails with ErrClosed.
	checkGoroutines(t)
	p := New(Config{Command: pipeHandler})
	prove(t, p)
	rs := queue(t, p, 0, `{"slow":1}`, `{"x":1}`)
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > closeGrace+time.Second {
		t.Fatalf("Close took %s", d)
	}
	for _, ch := range rs {
		if r := <-ch; !errors.Is(r.err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", r.err)
		}
	}
}

func TestPipelineChaos(t *testing.T) {
	// Crashes, garbage, timeouts and cancellations among many concurrent
	// callers: every call returns, and every answer is its own.
	checkGoroutines(t)
	p := newProc(t, Config{Command: `while IFS= read -r l; do
		case $l in *crash*) exit 3 ;; *bad*) echo oops ;; *slow*) sleep 1 ;; esac
		printf '%s\n' "$l"
	done`, Timeout: 200 * time.Millisecond, Startup: 100 * time.Millisecond})
	kinds := []string{"crash", "bad", "slow", "cancel"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				kind := "ok"
				if n := (g*31 + i*7) % 40; n < len(kinds) {
					kind = kinds[n]
				}
				req := fmt.Sprintf(`{"id":"%d-%d","kind":"%s"}`, g, i, kind)
				ctx, cancel := context.WithCancel(context.Background())
				if kind == "cancel" {
					time.AfterFunc(time.Duration(i%3)*time.Millisecond, cancel)
				}
				ans, err := p.Call(ctx, []byte(req))
				cancel()
				switch {
				case err == nil && string(ans) != req:
					t.Errorf("%s answered %s", req, ans)
				case err == nil:
				case kind == "ok" && !errors.Is(err, ErrExited):
					// An innocent request fails only when restarted twice.
					t.Errorf("%s: %v", req, err)
				case !errors.Is(err, ErrExited) && !errors.Is(err, ErrBadAnswer) &&
					!errors.Is(err, ErrTimeout) && !errors.Is(err, context.Canceled):
					t.Errorf("%s: %v", req, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("at most %d requests in flight", p.peakInFlight())
}

func TestTimeoutWhileWriting(t *testing.T) {
	// A handler that never reads: the request does not fit in the pipe, so
	// the write itself must time out.
	checkGoroutines(t)
	p := newProc(t, Config{Command: `sleep 5`, Timeout: 200 * time.Millisecond, Startup: 100 * time.Millisecond})
	big := `{"s":"` + strings.Repeat("x", 1<<20) + `"}`
	start := time.Now()
	_, err := p.Call(context.Background(), []byte(big))
	want := "did not answer its first request within 300ms (100ms to start, 200ms to answer)"
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want ErrTimeout: %s", err, want)
	}
	if e, ok := errors.AsType[*Error](err); !ok || e.Hint != HintUnbuffered {
		t.Fatalf("err = %#v, want the hint about buffered output", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed out after %s", d)
	}
}
