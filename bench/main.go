// Command bench is fold's `make bench`: it measures the built programs as a
// user runs them (real processes on a fresh root on the same disk as the
// temp directory) and prints one table of figures next to their targets.
//
//	cd bench && go run . -bin ../bin              # everything, full size
//	cd bench && go run . -bin ../bin -quick       # 10x smaller smoke run
//	cd bench && go run . -bin ../bin -only a,d    # a subset
//	cd bench && go run . -list                    # what can be measured
//
// Each measurement is a function registered by name in measures.go; to add
// one, write it in a file of its own and add a line there.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "../bin", "directory holding fold-exec, counter-go and the other built programs")
	only := fs.String("only", "", "comma-separated measurement keys to run (default: all); see -list")
	list := fs.Bool("list", false, "list the measurements and exit")
	quick := fs.Bool("quick", false, "a 10x smaller smoke run (same as -scale 0.1)")
	scale := fs.Float64("scale", 1, "multiply every workload size by this factor")
	tmp := fs.String("tmp", "", "parent directory for the temp roots; must be on the disk being measured (default: $TMPDIR or /tmp)")
	keep := fs.Bool("keep", false, "keep the temp roots and inputs instead of removing them")
	perf := fs.String("perf", "", "record each measured program with `perf record -g` into this directory (timings then include perf's overhead)")
	runs := fs.Int("runs", 1, "repeat each timed run this many times and report the best (for a busy machine)")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed, not only when a measurement fails")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bench [flags]\n\nMeasures fold's programs against their targets and prints a table.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *list {
		for _, m := range measures {
			fmt.Fprintf(stdout, "%-4s %s\n", m.Key, m.Title)
		}
		return 0
	}
	if *quick {
		*scale = 0.1
	}
	if *runs < 1 {
		fmt.Fprintf(stderr, "bench: error: -runs must be at least 1\n")
		return 2
	}
	selected, err := selectMeasures(*only)
	if err != nil {
		fmt.Fprintf(stderr, "bench: error: %v\n", err)
		fmt.Fprintf(stderr, "bench: hint: run with -list to see the keys\n")
		return 2
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		fmt.Fprintf(stderr, "bench: error: %v\n", err)
		return 2
	}
	base, err := os.MkdirTemp(*tmp, "fold-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "bench: error: %v\n", err)
		return 1
	}
	if !*keep {
		defer func() {
			fmt.Fprintf(stderr, "bench: removing %s\n", base)
			os.RemoveAll(base)
		}()
	}
	env := &Env{Bin: binDir, Tmp: base, Scale: *scale, Runs: *runs, Out: stdout}
	if *perf != "" {
		if env.PerfDir, err = filepath.Abs(*perf); err == nil {
			err = os.MkdirAll(env.PerfDir, 0o755)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench: error: -perf: %v\n", err)
			return 2
		}
	}

	fmt.Fprintf(stdout, "fold bench  %s  %s/%s  %d CPUs  scale %g  best of %d\n", time.Now().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *scale, *runs)
	fmt.Fprintf(stdout, "args %s\n", shellLine(args, ""))
	fmt.Fprintf(stdout, "bin  %s\n", binDir)
	fmt.Fprintf(stdout, "tmp  %s\n", describeDisk(base))
	fmt.Fprintf(stdout, "load %s (other work on the machine skews the figures)\n", loadavg())
	fmt.Fprintln(stdout)

	failed := false
	for _, m := range selected {
		fmt.Fprintf(stdout, "[%s] %s\n", m.Key, m.Title)
		env.key = m.Key
		start := time.Now()
		if err := m.Run(env); err != nil {
			failed = true
			fmt.Fprintf(stdout, "[%s] FAILED: %v\n", m.Key, err)
			env.Add(Row{Key: m.Key, Measure: m.Title, Err: err})
		}
		fmt.Fprintf(stdout, "[%s] done in %s\n\n", m.Key, time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "load %s at the end\n\n", loadavg())
	missed := printTable(stdout, env.rows)
	if len(env.cmds) > 0 {
		fmt.Fprintf(stdout, "\ncommands run (each timed from start to exit; inputs are generated files):\n")
		for _, c := range slices.Compact(env.cmds) {
			fmt.Fprintf(stdout, "  %s\n", c)
		}
	}
	switch {
	case failed:
		return 1
	case missed > 0 && *strict:
		return 1
	}
	return 0
}

// loadavg returns the 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// selectMeasures picks the measurements named in a -only list, in registry
// order; an empty list selects all.
func selectMeasures(only string) ([]Measure, error) {
	if only == "" {
		return measures, nil
	}
	want := strings.Split(only, ",")
	for _, k := range want {
		if !slices.ContainsFunc(measures, func(m Measure) bool { return m.Key == k }) {
			return nil, fmt.Errorf("-only: no measurement %q", k)
		}
	}
	var out []Measure
	for _, m := range measures {
		if slices.Contains(want, m.Key) {
			out = append(out, m)
		}
	}
	return out, nil
}
