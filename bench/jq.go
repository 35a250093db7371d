package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func init() {
	// Phases of an in-process jq handler, for -perf summaries: they are
	// inside handler.(*Pool).Call, and the innermost match wins.
	phases = append(phases, []struct{ name, pattern string }{
		{"jq in-process: run the program (gojq)", "handler.(*jqProgram).run"},
		{"jq in-process: encode the answer", "gojq.Marshal"},
		{"jq in-process: decode the request (or the batch ahead)", "handler.(*valueDecoder)"},
	}...)
}

// example returns the path of a file under the repository's examples/,
// found beside -bin (the repository's bin/).
func (e *Env) example(rel string) (string, error) {
	p := filepath.Join(filepath.Dir(e.Bin), "examples", rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("examples/%s not found beside %s: run the bench from the repository (make bench)", rel, e.Bin)
	}
	return p, nil
}

// measureJQExec is (jq), issue 11: fold-exec --sync none over 1,000
// instances with the counter of examples/counter written in jq and run
// in-process (--handler counter=jq:counter.jq), beside its anchor, the Go
// co-process handler, and the same jq program as a jq co-process. Each
// round runs the three in turn on fresh roots (cold: no instance exists;
// then warm: all exist), so that a busy machine skews them alike; the best
// of each is the figure.
func measureJQExec(e *Env) error {
	n, inst := e.N(100000, 1000), e.N(1000, 100)
	counter, err := e.example("counter/counter.jq")
	if err != nil {
		return err
	}
	goCounter, err := e.Prog("counter-go")
	if err != nil {
		return err
	}
	handlers := []struct{ name, cmd string }{
		{"Go co-process (counter-go)", goCounter},
		{"jq in-process (jq:counter.jq)", "jq:" + counter},
		{"jq co-process (jq --unbuffered -c -f counter.jq)", "jq --unbuffered -c -f " + shellQuote(counter)},
	}
	input, err := e.commandsInput(n, inst)
	if err != nil {
		return err
	}
	phases := []string{"cold", "warm"}
	best := make([]map[string]ProcResult, len(handlers))
	for run := range e.Runs {
		for i, h := range handlers {
			root, err := e.NewDir("root")
			if err != nil {
				return err
			}
			root = filepath.Join(root, "root")
			for _, phase := range phases {
				e.Logf("%s, %s: %d Increment commands round-robin over %d instances", h.name, phase, n, inst)
				res, err := e.runExec(execRun{root: root, input: input, commands: n, sync: "none", handler: h.cmd,
					label: fmt.Sprintf("jq-%d-%s-%d", i, phase, run+1)})
				if err != nil {
					return err
				}
				if best[i] == nil {
					best[i] = map[string]ProcResult{}
				}
				if b, ok := best[i][phase]; !ok || res.Wall < b.Wall {
					best[i][phase] = res
				}
			}
		}
	}
	for _, phase := range phases {
		for i, h := range handlers {
			r := best[i][phase]
			e.Add(Row{Measure: fmt.Sprintf("fold-exec --sync none, %s instances, %s cmds, %s, %s%s", num(float64(inst)), num(float64(n)), phase, h.name, e.best()),
				Value: foldRate(n, r.Wall), Unit: "cmd/s"})
			// On a busy machine the wall time depends on how many threads
			// compete: the CPU the same work took tells what it costs.
			e.Add(Row{Measure: "  its CPU per command (user+sys, fold-exec and its handler)",
				Value: (r.User + r.Sys).Seconds() * 1e6 / float64(n), Unit: "µs"})
		}
		// Rates are n/wall for each: the ratio of the rates is that of
		// the anchor's time to the other's.
		ratio := func(i int) float64 { return best[0][phase].Wall.Seconds() / best[i][phase].Wall.Seconds() }
		target := Target{}
		if phase == "warm" {
			target = AtLeast(0.9)
		}
		e.Add(Row{Measure: fmt.Sprintf("(jq) %s: jq in-process / Go co-process", phase), Value: ratio(1), Unit: "ratio", Target: target})
		e.Add(Row{Measure: fmt.Sprintf("%s: jq co-process / Go co-process", phase), Value: ratio(2), Unit: "ratio"})
	}
	return nil
}

// measureJQProject is (pj), issue 11: fold-project's throughput with the
// TotalCounter projection of examples/counter in jq, run in-process, over
// 1,000 streams of 1,000 events, as (p2) measures it with totals-go.
func measureJQProject(e *Env) error {
	streams, per := e.N(1000, 100), 1000
	total := streams * per
	totals, err := e.example("counter/total_counter.jq")
	if err != nil {
		return err
	}
	exe, err := e.Prog("fold-project")
	if err != nil {
		return err
	}
	root, _, err := e.counterRoot(streams, per)
	if err != nil {
		return err
	}
	var best time.Duration
	for run := range e.Runs {
		args := []string{exe, "--root", root, "--name", "total-counter", "--subscribe", "counter", "--handler", "jq:" + totals}
		what := "first run, no checkpoint"
		if run > 0 {
			args, what = append(args, "--rebuild"), "--rebuild"
		}
		e.Logf("%s: project all %d events", what, total)
		res, err := e.Run(Proc{Args: args, KeepStdout: true, Label: fmt.Sprintf("pj-%d", run+1)})
		if err != nil {
			return err
		}
		var st struct {
			Increments int `json:"total_increments"`
		}
		if err := json.Unmarshal(res.Stdout, &st); err != nil {
			return fmt.Errorf("fold-project printed %q: %w", res.Stdout, err)
		}
		if st.Increments != total {
			return fmt.Errorf("fold-project's state counts %d increments; the root holds %d", st.Increments, total)
		}
		if run == 0 || res.Wall < best {
			best = res.Wall
		}
	}
	e.Add(Row{Measure: fmt.Sprintf("(pj) fold-project + jq:total_counter.jq, %s streams × %s events, first run (then --rebuild)%s", num(float64(streams)), num(float64(per)), e.best()),
		Value: float64(total) / best.Seconds(), Unit: "events/s", Target: AtLeast(300000)})
	return nil
}
