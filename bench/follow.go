package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Issue 15: fold-watch --follow on a root of many streams. Its rows sit
// beside the plain catch-up of the same root, measured in the same run.

// followStreams is the size of the root the targets name.
const followStreams = 200000

// followRoot returns a root of n streams counter/i000000… of one
// Incremented event each, written once per bench run and shared by the
// measurements of this file: fs and fi only read it; fl adds a stream of
// its own to it per run.
func (e *Env) followRoot(n int) (string, error) {
	key := "counter-" + strconv.Itoa(n)
	if r, ok := e.roots[key]; ok {
		return r, nil
	}
	dir, err := e.NewDir(key)
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, "root")
	start := time.Now()
	size, err := writeStreams(root, "counter", n, 1, incremented)
	if err != nil {
		return "", err
	}
	e.Logf("setup (not timed): wrote %s streams counter/%s..%s of one Incremented event each (%.1f MiB of logs) in %s",
		num(float64(n)), instanceName(0), instanceName(n-1), float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	if e.roots == nil {
		e.roots = map[string]string{}
	}
	e.roots[key] = root
	return root, nil
}

// followSetup returns the size and the root of fs and fi, and fold-watch.
func (e *Env) followSetup() (n int, root, watcher string, err error) {
	n = e.N(followStreams, 2000)
	if root, err = e.followRoot(n); err == nil {
		watcher, err = e.Prog("fold-watch")
	}
	return n, root, watcher, err
}

// measureFollowStart is (fs), issue 15: how long fold-watch --follow takes
// to print the last record of its catch-up on 200,000 streams, against a
// plain catch-up (fold-watch, which exits) of the same root in the same
// run. The two alternate, so the machine's load weighs on both alike.
func measureFollowStart(e *Env) error {
	n, root, watcher, err := e.followSetup()
	if err != nil {
		return err
	}
	runs := max(3, e.Runs)
	e.Logf("%d runs, each a plain catch-up then a --follow until its %s-th record; the best of each is the figure", runs, num(float64(n)))
	var bestC, bestF, cpuC, cpuF time.Duration
	for run := range runs {
		res, err := e.Run(Proc{Args: []string{watcher, "--root", root}, Label: fmt.Sprintf("fs-catchup-%d", run+1)})
		if err != nil {
			return err
		}
		if res.Lines != int64(n) {
			return fmt.Errorf("fold-watch printed %d records; the root holds %d", res.Lines, n)
		}
		f, fcpu, err := e.followStartOnce(watcher, root, n, run)
		if err != nil {
			return err
		}
		e.Logf("  run %d: catch-up %s (cpu %s), --follow to its last catch-up record %s (cpu %s), %.2fx (load %s)",
			run+1, res.Wall.Round(time.Millisecond), (res.User + res.Sys).Round(time.Millisecond),
			f.Round(time.Millisecond), fcpu.Round(time.Millisecond), f.Seconds()/res.Wall.Seconds(), loadavg())
		if run == 0 || res.Wall < bestC {
			bestC, cpuC = res.Wall, res.User+res.Sys
		}
		if run == 0 || f < bestF {
			bestF, cpuF = f, fcpu
		}
	}
	streams := num(float64(n))
	e.Add(Row{Measure: fmt.Sprintf("fold-watch catch-up of %s streams, to exit%s", streams, e.best()), Value: bestC.Seconds(), Unit: "s"})
	e.Add(Row{Measure: fmt.Sprintf("(fs) fold-watch --follow, start to its %s-th record%s", streams, e.best()), Value: bestF.Seconds(), Unit: "s"})
	e.Add(Row{Measure: "(fs) --follow start-up / plain catch-up, same root, same run", Value: bestF.Seconds() / bestC.Seconds(), Unit: "x", Target: AtMost(1.5)})
	if cpuF > 0 { // not under perf, whose pid is the one started
		// CPU, which other work on the machine skews less than wall time.
		e.Add(Row{Measure: "(fs) the same runs' CPU (user+sys): --follow to its last record / the catch-up", Value: cpuF.Seconds() / cpuC.Seconds(), Unit: "x"})
	}
	return nil
}

// followStartOnce starts fold-watch --follow and times it to its n-th
// record, and reads the CPU it had used by then (zero under perf); it then
// stops it with SIGTERM, after which it must exit 0.
func (e *Env) followStartOnce(watcher, root string, n, run int) (took, cpu time.Duration, err error) {
	if err := e.Settle(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	p, err := e.startLive([]string{watcher, "--root", root, "--follow"}, fmt.Sprintf("fs-follow-%d", run+1), false)
	if err != nil {
		return 0, 0, err
	}
	got, err := countLines(p, n)
	took = time.Since(start)
	if e.PerfDir == "" {
		cpu, _ = processCPU(p.cmd.Process.Pid)
	}
	p.signal(syscall.SIGTERM)
	res, werr := p.wait()
	e.logUsage("fold-watch --follow", took, res)
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("fold-watch --follow: %v after %d records; stderr ends:\n%s", err, got, indent(res.Stderr))
	case werr != nil && e.PerfDir == "":
		return 0, 0, fmt.Errorf("fold-watch --follow after SIGTERM: %v; stderr ends:\n%s", werr, indent(res.Stderr))
	}
	return took, cpu, e.perfReport(p.perf)
}

// countLines reads a program's output until it has n lines.
func countLines(p *liveProc, n int) (int, error) {
	buf := make([]byte, 256<<10)
	got := 0
	for got < n {
		k, err := p.out.Read(buf)
		got += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil && got < n {
			return got, err
		}
	}
	return got, nil
}

// measureFollowLatency is (fl), issue 15: the live latency of (w), with
// 1,000 and then 200,000 streams in the root besides the one appended to.
func measureFollowLatency(e *Env) error {
	n := e.N(1000, 100)
	ps, err := e.Progs("fold-exec", "fold-watch", "counter-go")
	if err != nil {
		return err
	}
	exe, watcher, counter := ps[0], ps[1], ps[2]
	for _, size := range []struct {
		streams int
		target  float64
	}{{1000, 5}, {e.N(followStreams, 2000), 20}} {
		root, err := e.followRoot(size.streams)
		if err != nil {
			return err
		}
		streams := num(float64(size.streams))
		e.Logf("%s streams in the root; %d Increment commands to a new stream, one at a time; latency = when fold-watch printed a record - when fold-exec printed it", streams, n)
		var best *watchRun
		for run := range e.Runs {
			inst := fmt.Sprintf("lat-%d", run+1)
			r, err := e.watchOnceOn(n, run, inst,
				[]string{exe, "--root", root, "--type", "counter", "--handler", counter, "--sync", "batch"},
				[]string{watcher, "--root", root, "--follow", "--type", "counter"})
			if err != nil {
				return err
			}
			e.Logf("  run %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms; printed before the ack: %d of %d (load %s)",
				run+1, ms(r.p50), ms(r.p99), ms(r.max), r.early, n, loadavg())
			if best == nil || r.p99 < best.p99 {
				best = r
			}
		}
		e.Add(Row{Measure: fmt.Sprintf("(fl) fold-watch --follow, %s streams, ack → record, p50%s", streams, e.best()), Value: ms(best.p50), Unit: "ms"})
		e.Add(Row{Measure: fmt.Sprintf("(fl) fold-watch --follow, %s streams, ack → record, p99 over %s appends%s", streams, num(float64(n)), e.best()), Value: ms(best.p99), Unit: "ms", Target: Below(size.target)})
	}
	return nil
}

// measureFollowIdle is (fi), issue 15: the CPU fold-watch --follow uses on
// 200,000 streams while nothing is appended. It is measured over one whole
// period of the scan that finds what other programs append (the follower
// logs each scan at debug level): from the end of the first scan, which
// follows the catch-up, to the end of the next.
func measureFollowIdle(e *Env) error {
	n, root, watcher, err := e.followSetup()
	if err != nil {
		return err
	}
	if err := e.Settle(); err != nil {
		return err
	}
	scans := &scanLog{c: make(chan scanLine, 16)}
	p, err := e.startLiveTee([]string{watcher, "--root", root, "--follow", "--log-level", "debug"}, "fi-follow", false, scans)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			p.signal(syscall.SIGKILL)
			p.wait()
		}
	}()
	if _, err := countLines(p, n); err != nil {
		return fmt.Errorf("fold-watch --follow: %v; stderr ends:\n%s", err, indent(p.tail.String()))
	}
	go func() { // anything printed now would be a record nothing appended
		buf := make([]byte, 4096)
		for {
			if k, err := p.out.Read(buf); k > 0 || err != nil {
				scans.unexpected(k, err)
				return
			}
		}
	}()
	first, err := scans.next(maxScan)
	if err != nil {
		return err
	}
	pid := p.cmd.Process.Pid
	cpu1, err := processCPU(pid)
	if err != nil {
		return err
	}
	t1 := time.Now()
	e.Logf("caught up; first scan: %d logs in %s, next in %s; measuring until the next scan ends (load %s)", first.logs, first.took, first.next, loadavg())
	second, err := scans.next(first.next + maxScan)
	if err != nil {
		return err
	}
	cpu2, err := processCPU(pid)
	if err != nil {
		return err
	}
	window := time.Since(t1)
	stopped = true
	p.signal(syscall.SIGTERM)
	res, werr := p.wait()
	e.logUsage("fold-watch --follow", window, res)
	if werr != nil && e.PerfDir == "" {
		return fmt.Errorf("fold-watch --follow after SIGTERM: %v; stderr ends:\n%s", werr, indent(res.Stderr))
	}
	if err := scans.err(); err != nil {
		return err
	}
	pct := 100 * (cpu2 - cpu1).Seconds() / window.Seconds()
	e.Logf("  cpu %s over %s, which held one scan of %d logs in %s (load %s)", (cpu2 - cpu1).Round(time.Millisecond), window.Round(time.Second), second.logs, second.took, loadavg())
	streams := num(float64(n))
	e.Add(Row{Measure: fmt.Sprintf("(fi) fold-watch --follow, %s streams, nothing appended: CPU over one scan period", streams), Value: pct, Unit: "% of a core", Target: Below(1)})
	e.Add(Row{Measure: fmt.Sprintf("(fi) its scan of %s logs' sizes (finds other programs' appends), every", streams), Value: first.next.Seconds(), Unit: "s"})
	e.Add(Row{Measure: "(fi) one scan took", Value: second.took.Seconds(), Unit: "s"})
	return nil
}

// maxScan bounds the wait for a scan beyond its announced time: a scan
// of 200,000 logs takes seconds, and its period is at most 10 minutes.
const maxScan = 12 * time.Minute

// scanLine is what a follower logs after a scan.
type scanLine struct {
	logs       int
	took, next time.Duration
}

// scanLog reads a follower's debug log for its scans.
type scanLog struct {
	c       chan scanLine
	mu      sync.Mutex
	partial []byte
	bad     error
}

func (s *scanLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		if !strings.Contains(line, "scanned the logs") {
			continue
		}
		var l scanLine
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "logs":
				l.logs, _ = strconv.Atoi(v)
			case "took":
				l.took, _ = time.ParseDuration(v)
			case "next":
				l.next, _ = time.ParseDuration(v)
			}
		}
		select {
		case s.c <- l:
		default:
		}
	}
}

func (s *scanLog) next(timeout time.Duration) (scanLine, error) {
	select {
	case l := <-s.c:
		return l, nil
	case <-time.After(timeout):
		return scanLine{}, fmt.Errorf("fold-watch --follow logged no scan within %s", timeout)
	}
}

func (s *scanLog) unexpected(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > 0 {
		s.bad = fmt.Errorf("fold-watch --follow printed %d bytes while nothing was appended", n)
	} else if !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.EOF) {
		s.bad = err
	}
}

func (s *scanLog) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

// processCPU is the user and system CPU a running process has used, from
// /proc/PID/stat (in clock ticks of 1/100 s).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}
