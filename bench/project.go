package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"
)

// projectState reads what totals-go's state says it counted.
func projectState(out []byte) (int64, error) {
	var st struct {
		Events int64 `json:"events"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return 0, fmt.Errorf("fold-project printed %q: %w", out, err)
	}
	return st.Events, nil
}

// runProject runs fold-project over root with totals-go and checks the
// state it prints counts want events.
func (e *Env) runProject(root string, want int64, label string, setup bool, extra ...string) (ProcResult, error) {
	exe, err := e.Prog("fold-project")
	if err != nil {
		return ProcResult{}, err
	}
	totals, err := e.Prog("totals-go")
	if err != nil {
		return ProcResult{}, err
	}
	args := append([]string{exe, "--root", root, "--name", "n", "--subscribe", "counter", "--handler", totals}, extra...)
	p := Proc{Args: args, KeepStdout: true, Label: label}
	var res ProcResult
	if setup {
		res, err = e.setup(p)
	} else {
		res, err = e.Run(p)
	}
	if err != nil {
		return res, err
	}
	got, err := projectState(res.Stdout)
	if err != nil {
		return res, err
	}
	if got != want {
		return res, fmt.Errorf("fold-project's state counts %d events; the root holds %d", got, want)
	}
	return res, nil
}

// measureProjectNoop is (p1), issue 3 (b): a fold-project run that finds
// nothing new, over 100,000 streams of one event each, all of them already
// covered by its checkpoint.
func measureProjectNoop(e *Env) error {
	n := e.N(100000, 1000)
	dir, err := e.NewDir("root")
	if err != nil {
		return err
	}
	root := filepath.Join(dir, "root")
	start := time.Now()
	size, err := writeStreams(root, "counter", n, 1, incremented)
	if err != nil {
		return err
	}
	e.Logf("wrote %d streams counter/%s..%s of one Incremented event each (%.1f MiB of logs) and meta/streams.jsonl in %s",
		n, instanceName(0), instanceName(n-1), float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	e.Logf("first run: catch up on all %d streams (not the figure)", n)
	first, err := e.runProject(root, int64(n), "p1-first", false)
	if err != nil {
		return err
	}
	runs := max(3, e.Runs)
	e.Logf("then %d no-op runs, nothing new anywhere; the best is the figure", runs)
	var best time.Duration
	var bestRes ProcResult
	for run := range runs {
		res, err := e.runProject(root, int64(n), fmt.Sprintf("p1-noop-%d", run+1), false)
		if err != nil {
			return err
		}
		if run == 0 || res.Wall < best {
			best, bestRes = res.Wall, res
		}
	}
	e.Add(Row{Measure: fmt.Sprintf("fold-project first catch-up, %s streams × 1 event", num(float64(n))), Value: first.Wall.Seconds(), Unit: "s"})
	e.Add(Row{Measure: fmt.Sprintf("(p1) fold-project no-op run, %s streams, none with anything new (best of %d)", num(float64(n)), runs),
		Value: best.Seconds(), Unit: "s", Target: Below(0.5)})
	e.Add(Row{Measure: "(p1) its cpu (user+sys, fold-project and totals-go)", Value: (bestRes.User + bestRes.Sys).Seconds(), Unit: "s"})
	return nil
}

// counterRoot writes a new root of streams counters holding per
// Incremented events each (see writeStreams), and returns it and the size
// of its logs.
func (e *Env) counterRoot(streams, per int) (string, int64, error) {
	dir, err := e.NewDir("root")
	if err != nil {
		return "", 0, err
	}
	root := filepath.Join(dir, "root")
	start := time.Now()
	size, err := writeStreams(root, "counter", streams, per, incremented)
	if err != nil {
		return "", 0, err
	}
	e.Logf("wrote %d streams × %d Incremented events = %d events (%.1f MiB of logs) in %s",
		streams, per, streams*per, float64(size)/(1<<20), time.Since(start).Round(time.Millisecond))
	return root, size, nil
}

// measureProjectRate is (p2), issue 3 (c): projection throughput with the
// Go projection handler over 1,000 streams of 1,000 events.
func measureProjectRate(e *Env) error {
	streams, per := e.N(1000, 100), 1000
	total := streams * per
	root, size, err := e.counterRoot(streams, per)
	if err != nil {
		return err
	}
	var best time.Duration
	for run := range e.Runs {
		var extra []string
		what := "first run, no checkpoint"
		if run > 0 {
			extra, what = []string{"--rebuild"}, "--rebuild"
		}
		e.Logf("%s: project all %d events", what, total)
		res, err := e.runProject(root, int64(total), fmt.Sprintf("p2-%d", run+1), false, extra...)
		if err != nil {
			return err
		}
		if run == 0 || res.Wall < best {
			best = res.Wall
		}
	}
	e.Add(Row{Measure: fmt.Sprintf("fold-project log throughput, %.0f MiB of logs", float64(size)/(1<<20)),
		Value: float64(size) / (1 << 20) / best.Seconds(), Unit: "MiB/s"})
	e.Add(Row{Measure: fmt.Sprintf("(p2) fold-project + totals-go, %s streams × %s events, first run (then --rebuild)%s", num(float64(streams)), num(float64(per)), e.best()),
		Value: float64(total) / best.Seconds(), Unit: "events/s", Target: AtLeast(300000)})
	return nil
}
