package main

import (
	"bufio"
	"cmp"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// With -perf, each measured program runs under `perf record -g`, and its
// samples are summarised here so that a missed target comes with the
// evidence of what bounds it: the share of CPU samples per process, per
// phase of the program (the innermost phase function on the stack), and
// per system call.

// phases maps stack frames to a phase of fold's programs. For a sample, the
// innermost frame matching any pattern names its phase, so a handler round
// trip made while deciding counts as the round trip, not as deciding.
// Patterns are substrings of symbol names; add yours when you add a
// measurement of another program.
var phases = []struct{ name, pattern string }{
	{"runtime: GC", "runtime.gcBgMarkWorker"},
	{"runtime: GC", "runtime.gcAssistAlloc"},
	{"runtime: GC", "runtime.bgsweep"},
	{"runtime: GC", "runtime.bgscavenge"},
	{"runtime: scheduler, idle", "runtime.schedule"},
	{"runtime: scheduler, idle", "runtime.findRunnable"},
	{"runtime: scheduler, idle", "runtime.park_m"},
	{"runtime: scheduler, idle", "runtime.sysmon"},
	{"handler round trip (pipe write, wait, read)", "handler.(*Process).Call"},
	{"handler round trip (pipe write, wait, read)", "handler.(*Pool).Call"},
	{"decide: requests, answers, event lines", "exec.(*stream).decide"},
	{"apply batches (replay)", "exec.(*replayer)"},
	{"apply batches (replay)", "exec.(*stream).apply"},
	{"log scan (read, hash, check lines)", "eventlog.scan"},
	{"log scan (read, hash, check lines)", "eventlog.fdFile.scan"},
	{"append + flush (write, fdatasync, syncfs)", "exec.(*stream).appendLocked"},
	{"append + flush (write, fdatasync, syncfs)", "exec.(*committer)"},
	{"append + flush (write, fdatasync, syncfs)", "store.Root.SyncWriters"},
	{"writer lock (flock)", "eventlog.(*File).Lock"},
	{"tail check under the lock", "exec.(*stream).refreshLocked"},
	{"stream open, create, register", "exec.(*stream).open"},
	{"stream open, create, register", "exec.(*stream).create"},
	{"stream open, create, register", "store.Root.Register"},
	{"stream open, create, register", "store.Root.OpenWriter"},
	{"snapshot load/save", "Snapshot"},
	{"actor start, evict", "exec.(*actor)"},
	{"actor start, evict", "exec.newActor"},
	{"engine routing", "exec.(*Engine)"},
	{"input read + parse", "exec.Pipe.func1"},
	{"input read + parse", "record.Parse"},
	{"output (records to stdout)", "record.AppendRecord"},
	{"output (records to stdout)", "bufio.(*Writer)"},
	{"output (records to stdout)", "exec.Pipe"},
	{"process start", "runtime.main"},
	{"process start", "runtime.rt0_go"},
}

type share struct {
	name string
	n    int
}

// profileSummary reads a perf.data file and returns the lines of its summary.
func profileSummary(data string) ([]string, error) {
	cmd := exec.Command("perf", "script", "-i", data, "-F", "comm,ip,sym")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	byComm := map[string]int{}
	byPhase := map[string]int{}
	bySys := map[string]int{}
	total, progTotal := 0, 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var comm string
	var stack []string // leaf first
	flush := func() {
		if comm == "" {
			return
		}
		total++
		byComm[comm]++
		if strings.HasPrefix(comm, "fold-") {
			progTotal++
			byPhase[phaseOf(stack)]++
		}
		for _, f := range stack {
			if s, ok := strings.CutPrefix(f, "__x64_sys_"); ok {
				bySys[s]++
				break
			}
		}
		comm, stack = "", stack[:0]
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == '\t':
			f := strings.Fields(line)
			if len(f) >= 2 {
				stack = append(stack, f[1])
			}
		default:
			flush()
			comm = strings.TrimSpace(line)
		}
	}
	flush()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("perf script: %w", err)
	}
	if total == 0 {
		return nil, fmt.Errorf("perf script: no samples in %s", data)
	}
	pct := func(n int) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total)) }
	render := func(m map[string]int, limit int) string {
		var s []share
		for k, v := range m {
			s = append(s, share{k, v})
		}
		slices.SortFunc(s, func(a, b share) int { return cmp.Or(b.n-a.n, strings.Compare(a.name, b.name)) })
		var parts []string
		for i, x := range s {
			if i == limit || 100*x.n < total/2 { // below 0.5%
				break
			}
			parts = append(parts, x.name+" "+pct(x.n))
		}
		return strings.Join(parts, ", ")
	}
	return []string{
		fmt.Sprintf("%d CPU samples; by process: %s", total, render(byComm, 6)),
		fmt.Sprintf("fold programs by phase (%% of all samples): %s", render(byPhase, 20)),
		fmt.Sprintf("by system call (all processes, %% of all samples): %s", render(bySys, 12)),
	}, nil
}

// phaseOf names the phase of a stack (leaf first).
func phaseOf(stack []string) string {
	for _, f := range stack {
		for _, p := range phases {
			if strings.Contains(f, p.pattern) {
				return p.name
			}
		}
	}
	if len(stack) > 0 && !strings.Contains(stack[len(stack)-1], "goexit") && !strings.Contains(stack[len(stack)-1], "runtime.") {
		return "other"
	}
	return "other (runtime, kernel)"
}
