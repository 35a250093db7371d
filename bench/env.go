package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Env is what a measurement runs in: where the programs are, where to put
// roots and inputs, how big to make the work, and where results go.
type Env struct {
	Bin     string  // directory of the built programs
	Tmp     string  // this run's temp directory, on the disk being measured
	Scale   float64 // workload multiplier (0.1 for -quick)
	Runs    int     // timed runs per figure; the best is reported
	Out     io.Writer
	PerfDir string // when set, programs run under perf record

	key   string // the measurement running now
	rows  []Row
	cmds  []string          // "[key] command line", in the order run
	roots map[string]string // roots shared by measurements that read them (follow.go)
}

// N scales a full-size workload count, never below min.
func (e *Env) N(full, min int) int {
	return max(int(float64(full)*e.Scale+0.5), min)
}

// best labels a figure taken as the best of e.Runs runs.
func (e *Env) best() string {
	if e.Runs <= 1 {
		return ""
	}
	return fmt.Sprintf(", best of %d", e.Runs)
}

// worst is the suffix of a peak's measure when each run is repeated.
func (e *Env) worst() string {
	if e.Runs <= 1 {
		return ""
	}
	return fmt.Sprintf(", worst of %d", e.Runs)
}

// Add reports a figure.
func (e *Env) Add(r Row) {
	if r.Key == "" {
		r.Key = e.key
	}
	e.rows = append(e.rows, r)
	t := ""
	if r.Target.Op != "" {
		t = "  (target " + r.Target.String() + ")"
	}
	fmt.Fprintf(e.Out, "[%s]   = %s %s  %s%s\n", r.Key, num(r.Value), r.Unit, r.Measure, t)
}

// Logf prints a progress line for the running measurement.
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.Out, "[%s] %s\n", e.key, fmt.Sprintf(format, args...))
}

// NewDir makes a fresh directory under the run's temp directory. It is not
// removed when the measurement ends: removing a tree of many streams dirties
// as much metadata as making it, so the whole temp directory is removed at
// the end of the run, where that cannot slow the next measurement.
func (e *Env) NewDir(name string) (string, error) {
	return os.MkdirTemp(e.Tmp, e.key+"-"+name+"-")
}

// Settle flushes the filesystem of the temp directory, so that a timed run
// does not pay for what the previous one, or the writing of its input,
// left dirty.
func (e *Env) Settle() error {
	fd, err := unix.Open(e.Tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return syncfs(fd)
}

// Prog returns the path of a built program, or an error naming what to build.
func (e *Env) Prog(name string) (string, error) {
	p := filepath.Join(e.Bin, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found in %s (run make build)", name, e.Bin)
	}
	return p, nil
}

// Progs is Prog for each name, in order.
func (e *Env) Progs(names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		p, err := e.Prog(name)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Proc is one program run: its command line, stdin file and what it
// printed.
type Proc struct {
	Args  []string // program path and arguments
	Stdin string   // file fed on stdin; "" for none
	Label string   // names the perf recording, when -perf is on

	// KeepStdout keeps what the program printed in Stdout; otherwise only
	// its lines are counted.
	KeepStdout bool
}

// ProcResult is what came of a Proc.
type ProcResult struct {
	Wall   time.Duration
	User   time.Duration // CPU time of the program and the children it waited for (handlers)
	Sys    time.Duration
	MaxRSS int64 // bytes: the larger of the program's peak RSS and its waited-for children's
	Lines  int64 // lines printed on stdout
	Stdout []byte
	Stderr string // the last few KiB
}

// Run starts the program, times it from start to exit, and fails unless it
// exits 0.
func (e *Env) Run(p Proc) (ProcResult, error) {
	var res ProcResult
	args := p.Args
	perfData := ""
	if e.PerfDir != "" {
		label := p.Label
		if label == "" {
			label = e.key
		}
		perfData = filepath.Join(e.PerfDir, label+".perf.data")
		args = append([]string{"perf", "record", "-g", "-F", "999", "-q", "-o", perfData, "--"}, args...)
	}
	if err := e.Settle(); err != nil {
		return res, err
	}
	line := shellLine(p.Args, p.Stdin)
	e.Logf("$ %s", line)
	e.cmds = append(e.cmds, fmt.Sprintf("[%s] %s", e.key, line))
	cmd := exec.Command(args[0], args[1:]...)
	if p.Stdin != "" {
		f, err := os.Open(p.Stdin)
		if err != nil {
			return res, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	cw := &lineCounter{keep: p.KeepStdout}
	cmd.Stdout = cw
	tail := &tailBuffer{max: 8 << 10}
	cmd.Stderr = tail
	start := time.Now()
	err := cmd.Run()
	res.Wall = time.Since(start)
	res.Lines = cw.lines
	res.Stdout = cw.buf.Bytes()
	res.Stderr = tail.String()
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSS = ru.Maxrss << 10 // Linux reports KiB
			res.User = time.Duration(ru.Utime.Nano())
			res.Sys = time.Duration(ru.Stime.Nano())
		}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %v; stderr ends:\n%s", filepath.Base(p.Args[0]), err, indent(res.Stderr))
	}
	cpu := res.User + res.Sys
	e.Logf("  exit 0 in %s, cpu %s (user %s, sys %s, %.0f%% of one core), peak rss %.1f MiB, %d lines out",
		res.Wall.Round(time.Millisecond), cpu.Round(time.Millisecond), res.User.Round(time.Millisecond),
		res.Sys.Round(time.Millisecond), 100*cpu.Seconds()/res.Wall.Seconds(), float64(res.MaxRSS)/(1<<20), res.Lines)
	if s := strings.TrimSpace(res.Stderr); s != "" {
		e.Logf("  stderr ends:\n%s", indent(s))
	}
	if perfData != "" {
		lines, err := profileSummary(perfData)
		if err != nil {
			return res, err
		}
		e.Logf("  profile (perf report -i %s):", perfData)
		for _, l := range lines {
			e.Logf("    %s", l)
		}
	}
	return res, nil
}

// lineCounter counts the lines written to it, keeping them when asked.
type lineCounter struct {
	keep  bool
	lines int64
	buf   bytes.Buffer
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	if c.keep {
		c.buf.Write(p)
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (nothing)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// shellLine renders a command line as it would be typed.
func shellLine(args []string, stdin string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	s := strings.Join(q, " ")
	if stdin != "" {
		s += " < " + shellQuote(stdin)
	}
	return s
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// describeDisk names the filesystem a directory is on, so the table says
// which disk its figures belong to.
func describeDisk(dir string) string {
	var st unix.Stat_t
	var sf unix.Statfs_t
	if unix.Stat(dir, &st) != nil || unix.Statfs(dir, &sf) != nil {
		return dir
	}
	fsType := map[int64]string{0xEF53: "ext2/3/4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs", 0x794c7630: "overlayfs"}[int64(sf.Type)]
	if fsType == "" {
		fsType = fmt.Sprintf("fs type %#x", sf.Type)
	}
	s := fmt.Sprintf("%s  (device %d:%d, %s, %.0f GiB free", dir, unix.Major(st.Dev), unix.Minor(st.Dev), fsType,
		float64(sf.Bavail)*float64(sf.Bsize)/(1<<30))
	if src, opts := mountOf(dir); src != "" {
		s += ", " + src + " " + opts
		// ext4 says here whether it has a journal, which roughly triples
		// the cost of an fdatasync that changes the file's size.
		if b, err := os.ReadFile(filepath.Join("/sys/fs/ext4", filepath.Base(src), "journal_task")); err == nil {
			if j := strings.TrimSpace(string(b)); j == "<none>" {
				s += ", no journal"
			} else {
				s += ", journal " + j
			}
		}
	}
	return s + ")"
}

// mountOf finds the mount holding dir in /proc/self/mounts: its source and
// options (which tell, e.g., whether ext4 has a journal via its mount data).
func mountOf(dir string) (src, opts string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "", ""
	}
	best := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(best) {
			best, src, opts = mp, f[0], f[3]
		}
	}
	return src, opts
}
