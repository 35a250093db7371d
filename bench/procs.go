package main

// Helpers for the measurements of fold-watch, fold-project and fold-pm:
// pipelines of programs, programs kept running while the bench talks to
// them, setup runs kept out of -perf, and roots written directly on disk.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	// Phases of the programs these measurements run, for -perf summaries.
	phases = append(phases, []struct{ name, pattern string }{
		{"checkpoint load/save", "checkpoint.File.Load"},
		{"checkpoint load/save", "checkpoint.File.Save"},
		{"checkpoint load/save", "checkpoint.(*File)"},
		{"discovery (registry, stream dirs)", "store.Root.Streams"},
		{"discovery (registry, stream dirs)", "store.Root.streams"},
		{"discovery (registry, stream dirs)", "store.unregistered"},
		{"watch: probe streams (stat, tail check)", "watch.probe"},
		{"watch: probe streams (stat, tail check)", "watch.(*reader).probeAhead"},
		{"watch: probe streams (stat, tail check)", "eventlog.fdFile.check"},
		{"watch: probe streams (stat, tail check)", "eventlog.openFD"},
		{"watch: read + batch records", "watch.(*reader)"},
		{"watch: read + batch records", "watch.(*batcher)"},
		{"watch: follow (notify, rescan)", "watch.(*follower)"},
		{"watch: follow (notify, rescan)", "fsnotify"},
		{"watch: follow (notify, rescan)", "store.(*dirWatcher)"},
		{"projection apply (request, answer)", "projection.(*Projection)"},
		{"pm: react (request, answer, envelopes)", "pm.(*Manager)"},
		{"pm: emit envelopes", "pm.(*Emitter)"},
		{"pm: emit envelopes", "pm.(*flusher)"},
		{"pm: read input lines", "pm.Lines"},
		{"pm: read input lines", "pm.readLines"},
	}...)
}

// logCmd prints a command line and keeps it for the table's list.
func (e *Env) logCmd(line string) {
	e.Logf("$ %s", line)
	e.cmds = append(e.cmds, fmt.Sprintf("[%s] %s", e.key, line))
}

// perfWrap prefixes args with perf record when -perf is on; it returns the
// perf.data path ("" when off).
func (e *Env) perfWrap(args []string, label string) ([]string, string) {
	if e.PerfDir == "" {
		return args, ""
	}
	data := filepath.Join(e.PerfDir, label+".perf.data")
	return append([]string{"perf", "record", "-g", "-F", "999", "-q", "-o", data, "--"}, args...), data
}

// perfReport prints the summary of a perf recording.
func (e *Env) perfReport(data string) error {
	if data == "" {
		return nil
	}
	lines, err := profileSummary(data)
	if err != nil {
		return err
	}
	e.Logf("  profile (perf report -i %s):", data)
	for _, l := range lines {
		e.Logf("    %s", l)
	}
	return nil
}

// setup runs a program that prepares a measurement (not measured, so never
// under perf).
func (e *Env) setup(p Proc) (ProcResult, error) {
	perf := e.PerfDir
	e.PerfDir = ""
	defer func() { e.PerfDir = perf }()
	return e.Run(p)
}

// usage reads what a finished process used.
func usage(ps *os.ProcessState, r *ProcResult) {
	if ps == nil {
		return
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss << 10
		r.User = time.Duration(ru.Utime.Nano())
		r.Sys = time.Duration(ru.Stime.Nano())
	}
}

func (e *Env) logUsage(name string, wall time.Duration, r ProcResult) {
	cpu := r.User + r.Sys
	e.Logf("  %s: cpu %s (user %s, sys %s, %.0f%% of one core over %s), peak rss %.1f MiB",
		name, cpu.Round(time.Millisecond), r.User.Round(time.Millisecond), r.Sys.Round(time.Millisecond),
		100*cpu.Seconds()/wall.Seconds(), wall.Round(time.Millisecond), float64(r.MaxRSS)/(1<<20))
	if s := strings.TrimSpace(r.Stderr); s != "" {
		e.Logf("  %s stderr ends:\n%s", name, indent(s))
	}
}

// PipeResult is what came of a pipeline: the wall time from the first
// program's start to the last one's exit, each program's usage, and the
// last one's output.
type PipeResult struct {
	Wall  time.Duration
	Procs []ProcResult
	Lines int64
	Out   []byte // the last program's stdout, when KeepStdout is set on it
}

// RunPipe runs programs as `p0 | p1 | …` (the first one's stdin is its
// Stdin file), times the whole, and fails unless every one exits 0.
func (e *Env) RunPipe(ps []Proc) (PipeResult, error) {
	var res PipeResult
	if err := e.Settle(); err != nil {
		return res, err
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = shellLine(p.Args, p.Stdin)
	}
	e.logCmd(strings.Join(parts, " | "))
	cmds := make([]*exec.Cmd, len(ps))
	tails := make([]*tailBuffer, len(ps))
	perfs := make([]string, len(ps))
	var closeAfterStart []*os.File
	defer func() {
		for _, f := range closeAfterStart {
			f.Close()
		}
	}()
	out := &lineCounter{keep: ps[len(ps)-1].KeepStdout}
	var prevRead *os.File
	for i, p := range ps {
		label := p.Label
		if label == "" {
			label = fmt.Sprintf("%s-%d", e.key, i)
		}
		args, data := e.perfWrap(p.Args, label)
		perfs[i] = data
		c := exec.Command(args[0], args[1:]...)
		switch {
		case i > 0:
			c.Stdin = prevRead
		case p.Stdin != "":
			f, err := os.Open(p.Stdin)
			if err != nil {
				return res, err
			}
			closeAfterStart = append(closeAfterStart, f)
			c.Stdin = f
		}
		if i < len(ps)-1 {
			r, w, err := os.Pipe()
			if err != nil {
				return res, err
			}
			closeAfterStart = append(closeAfterStart, r, w)
			c.Stdout = w
			prevRead = r
		} else {
			c.Stdout = out
		}
		tails[i] = &tailBuffer{max: 8 << 10}
		c.Stderr = tails[i]
		cmds[i] = c
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, s := range cmds[:i] {
				s.Process.Kill()
				s.Wait()
			}
			return res, err
		}
	}
	// The pipes' ends now belong to the programs: closing ours lets each
	// see end of input when the one before it exits.
	for _, f := range closeAfterStart {
		f.Close()
	}
	closeAfterStart = nil
	errs := make([]error, len(cmds))
	res.Procs = make([]ProcResult, len(cmds))
	for i, c := range cmds {
		errs[i] = c.Wait()
		usage(c.ProcessState, &res.Procs[i])
		res.Procs[i].Stderr = tails[i].String()
	}
	res.Wall = time.Since(start)
	res.Lines = out.lines
	res.Out = out.buf.Bytes()
	e.Logf("  pipeline done in %s, %d lines out", res.Wall.Round(time.Millisecond), res.Lines)
	for i, p := range ps {
		e.logUsage(filepath.Base(p.Args[0]), res.Wall, res.Procs[i])
	}
	for i, err := range errs {
		if err != nil {
			return res, fmt.Errorf("%s: %v; stderr ends:\n%s", filepath.Base(ps[i].Args[0]), err, indent(res.Procs[i].Stderr))
		}
	}
	for _, d := range perfs {
		if err := e.perfReport(d); err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeStreams writes, under root, streams of aggType named
// instanceName(0..streams-1), each holding perStream events made by line
// (given the stream and event numbers and a random source, it returns the
// event line without its newline), in the eventfold layout, registry
// included, directly rather than through fold-exec. It returns the bytes
// of log written.
func writeStreams(root, aggType string, streams, perStream int, line func(b []byte, s, i int, rng *rand.Rand) []byte) (int64, error) {
	typeDir := filepath.Join(root, "streams", aggType)
	if err := os.MkdirAll(typeDir, 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(root, "meta"), 0o755); err != nil {
		return 0, err
	}
	reg, err := os.OpenFile(filepath.Join(root, "meta", "streams.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer reg.Close()
	rw := bufio.NewWriterSize(reg, 1<<20)
	ts := time.Now().Unix()
	rng := rand.New(rand.NewPCG(2, uint64(ts)))
	var size int64
	var b []byte
	buf := make([]byte, 0, 1<<20)
	for s := range streams {
		id := instanceName(s)
		dir := filepath.Join(typeDir, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return 0, err
		}
		buf = buf[:0]
		f, err := os.OpenFile(filepath.Join(dir, "app.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return 0, err
		}
		for i := range perStream {
			b = append(line(b[:0], s, i, rng), '\n')
			buf = append(buf, b...)
			if len(buf) >= 1<<20 {
				if _, err := f.Write(buf); err != nil {
					f.Close()
					return 0, err
				}
				size += int64(len(buf))
				buf = buf[:0]
			}
		}
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return 0, err
		}
		size += int64(len(buf))
		if err := f.Close(); err != nil {
			return 0, err
		}
		fmt.Fprintf(rw, `{"id":%q,"ts":%d,"type":%q}`+"\n", id, ts, aggType)
	}
	if err := rw.Flush(); err != nil {
		return 0, err
	}
	return size, reg.Close()
}

// incremented is the counter's event line, as fold-exec writes it.
func incremented(b []byte, _, i int, rng *rand.Rand) []byte {
	b = append(b, `{"type":"Incremented","data":null,"ts":`...)
	b = strconv.AppendInt(b, 1764446400+int64(i), 10)
	b = append(b, `,"id":"`...)
	b = appendUUID(b, rng)
	return append(b, `"}`...)
}

// copyRoot copies a root with cp -a (setup, not measured).
func (e *Env) copyRoot(src, dst string) error {
	out, err := exec.Command("cp", "-a", src, dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
	return nil
}

// percentile of sorted durations: the smallest value at or above the
// fraction q of them.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
