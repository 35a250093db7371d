package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// execRun is one fold-exec run of the counter over a prepared input.
type execRun struct {
	root     string
	input    string
	commands int
	sync     string
	extra    []string // more fold-exec flags, e.g. --jobs
	label    string
	handler  string // the counter's handler; "" for the Go one, counter-go
}

// runExec pipes the input through fold-exec with the counter handler (the
// Go one unless r says otherwise) and checks that every command printed
// its one event record.
func (e *Env) runExec(r execRun) (ProcResult, error) {
	exe, err := e.Prog("fold-exec")
	if err != nil {
		return ProcResult{}, err
	}
	counter := r.handler
	if counter == "" {
		if counter, err = e.Prog("counter-go"); err != nil {
			return ProcResult{}, err
		}
	}
	args := []string{exe, "--root", r.root, "--sync", r.sync, "--handler", "counter=" + counter}
	args = append(args, r.extra...)
	res, err := e.Run(Proc{Args: args, Stdin: r.input, Label: r.label})
	if err != nil {
		return res, err
	}
	if res.Lines != int64(r.commands) {
		return res, fmt.Errorf("fold-exec printed %d records for %d commands", res.Lines, r.commands)
	}
	return res, nil
}

// measureSyncEach is (a): durable commands one by one on one instance,
// against the same disk's raw fdatasync loop. The machine may be shared, so
// the two are interleaved in rounds (raw, fold-exec, raw, fold-exec, ...,
// raw) and each round's fold-exec rate is compared with the raw loops just
// before and after it; the median of the rounds' ratios is the figure.
func measureSyncEach(e *Env) error {
	n, rounds := e.N(5000, 200), 5
	per := n / rounds
	rounds *= e.Runs
	dir, err := e.NewDir("root")
	if err != nil {
		return err
	}
	input := filepath.Join(dir, "commands.jsonl")
	if err := writeCommands(input, per, 1); err != nil {
		return err
	}
	root := filepath.Join(dir, "root")
	e.Logf("%d rounds of: %d × (200-byte O_APPEND write + fdatasync) on a fresh file in %s, then %d Increment commands to counter/%s; then the raw loop once more",
		rounds, per, dir, per, instanceName(0))
	raw := make([]float64, rounds+1)
	var ratios []float64
	var foldTimes []time.Duration
	for i := 0; i <= rounds; i++ {
		if raw[i], err = rawAppendSync(dir, per); err != nil {
			return fmt.Errorf("raw fdatasync loop: %w", err)
		}
		e.Logf("  raw loop: %s appends/s", num(raw[i]))
		if i > 0 {
			r := foldRate(per, foldTimes[i-1]) / ((raw[i-1] + raw[i]) / 2)
			ratios = append(ratios, r)
			e.Logf("  round %d: fold-exec / raw = %.3f", i, r)
		}
		if i == rounds {
			break
		}
		res, err := e.runExec(execRun{root: root, input: input, commands: per, sync: "each", label: fmt.Sprintf("a-%d", i+1)})
		if err != nil {
			return err
		}
		foldTimes = append(foldTimes, res.Wall)
	}
	var rawSum float64
	for _, r := range raw {
		rawSum += r
	}
	var foldTime time.Duration
	for _, d := range foldTimes {
		foldTime += d
	}
	e.Add(Row{Measure: fmt.Sprintf("raw disk: 200-byte append + fdatasync (mean of %d loops)", len(raw)), Value: rawSum / float64(len(raw)), Unit: "appends/s"})
	e.Add(Row{Measure: fmt.Sprintf("fold-exec --sync each, 1 instance, %s commands in %d runs", num(float64(per*rounds)), rounds),
		Value: foldRate(per*rounds, foldTime), Unit: "cmd/s"})
	e.Add(Row{Measure: fmt.Sprintf("(a) fold-exec --sync each / raw fdatasync loop (median of %d rounds)", rounds),
		Value: medianFloat(ratios), Unit: "ratio", Target: AtLeast(0.8)})
	return nil
}

func foldRate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// manyInstances runs the counter workload across many instances twice on
// one root: cold (every instance created by the run) and warm (every
// instance exists, with the snapshot the first run left).
func (e *Env) manyInstances(sync string, cold, warm float64, tag string) error {
	n, inst := e.N(100000, 1000), e.N(1000, 100)
	input, err := e.commandsInput(n, inst)
	if err != nil {
		return err
	}
	best := map[string]time.Duration{}
	for run := range e.Runs {
		// The root itself does not exist yet, as on a user's first run.
		root, err := e.NewDir("root")
		if err != nil {
			return err
		}
		root = filepath.Join(root, "root")
		for _, phase := range []string{"cold", "warm"} {
			e.Logf("%s: %d Increment commands round-robin over %d instances (%s)", phase, n, inst,
				map[string]string{"cold": "none exists yet, nor the root", "warm": "all exist, from the cold run"}[phase])
			res, err := e.runExec(execRun{root: root, input: input, commands: n, sync: sync, label: fmt.Sprintf("%s-%s-%d", e.key, phase, run+1)})
			if err != nil {
				return err
			}
			if b, ok := best[phase]; !ok || res.Wall < b {
				best[phase] = res.Wall
			}
		}
	}
	target := map[string]float64{"cold": cold, "warm": warm}
	for _, phase := range []string{"cold", "warm"} {
		e.Add(Row{Measure: fmt.Sprintf("%s fold-exec --sync %s, %s instances, %s cmds, %s%s", tag, sync, num(float64(inst)), num(float64(n)), phase, e.best()),
			Value: foldRate(n, best[phase]), Unit: "cmd/s", Target: AtLeast(target[phase])})
	}
	return nil
}

// measureSyncBatch is (b): group commit across many instances; the
// target is the warm run's (issue 11), the cold one keeps wave 1's.
func measureSyncBatch(e *Env) error { return e.manyInstances("batch", 15000, 70000, "(b)") }

// measureSyncNone is (c): the engine without durability costs.
func measureSyncNone(e *Env) error { return e.manyInstances("none", 50000, 100000, "(c)") }

// measureRSS is (e): peak memory of one run touching many instances once
// each, which the actor cap must keep bounded.
func measureRSS(e *Env) error {
	n := e.N(100000, 1000)
	input, err := e.commandsInput(n, n)
	if err != nil {
		return err
	}
	e.Logf("%d Increment commands, one to each of %d new instances", n, n)
	wall, rss, err := e.freshRuns(input, n, "e")
	if err != nil {
		return err
	}
	e.Add(Row{Measure: fmt.Sprintf("fold-exec --sync none, %s new instances, 1 cmd each%s", num(float64(n)), e.best()),
		Value: foldRate(n, wall), Unit: "cmd/s"})
	e.Add(Row{Measure: fmt.Sprintf("(e) peak RSS, run touching %s instances%s", num(float64(n)), e.worst()),
		Value: float64(rss) / (1 << 20), Unit: "MiB", Target: Below(256)})
	return nil
}

// freshRuns runs fold-exec --sync none over input (n commands) on a new
// root each run, and returns the best wall time and the worst peak RSS.
func (e *Env) freshRuns(input string, n int, tag string) (wall time.Duration, rss int64, err error) {
	for run := range e.Runs {
		root, err := e.NewDir("root")
		if err != nil {
			return 0, 0, err
		}
		root = filepath.Join(root, "root")
		res, err := e.runExec(execRun{root: root, input: input, commands: n, sync: "none", label: fmt.Sprintf("%s-%d", tag, run+1)})
		if err != nil {
			return 0, 0, err
		}
		rss = max(rss, res.MaxRSS)
		if run == 0 || res.Wall < wall {
			wall = res.Wall
		}
	}
	return wall, rss, nil
}

// largeCommand is the size of (m)'s commands: about what an envelope
// carrying a document (an address, an order's lines) weighs.
const largeCommand = 3 << 10

// measureMemory is (m): peak memory of a run whose commands are large.
// What the engine holds of its input is bounded by bytes (--memory), so
// the peak must not grow with the size of the commands.
func measureMemory(e *Env) error {
	n, instances := e.N(50000, 500), e.N(1000, 100)
	dir, err := e.NewDir("input")
	if err != nil {
		return err
	}
	input := filepath.Join(dir, "large.jsonl")
	pad := strings.Repeat("x", largeCommand-100)
	if err := writeLines(input, n, func(b []byte, i int, _ *rand.Rand) []byte {
		b = append(b, `{"aggregate_type":"counter","instance_id":"`...)
		b = append(b, instanceName(i%instances)...)
		b = append(b, `","command":{"type":"Increment","data":{"note":"`...)
		b = append(b, pad...)
		return append(b, `"}}}`...)
	}); err != nil {
		return err
	}
	e.Logf("%d Increment commands of %d bytes over %d new instances", n, largeCommand, instances)
	wall, rss, err := e.freshRuns(input, n, "m")
	if err != nil {
		return err
	}
	mib := float64(n) * largeCommand / (1 << 20)
	e.Add(Row{Measure: fmt.Sprintf("fold-exec --sync none, %s commands of 3 KiB (%.0f MiB) over %s instances%s", num(float64(n)), mib, num(float64(instances)), e.best()),
		Value: foldRate(n, wall), Unit: "cmd/s"})
	e.Add(Row{Measure: fmt.Sprintf("(m) peak RSS, %s commands of 3 KiB, default --memory%s", num(float64(n)), e.worst()),
		Value: float64(rss) / (1 << 20), Unit: "MiB", Target: Below(100)})
	return nil
}
