package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// measureReplay is (d): how fast one instance's state is rebuilt from its
// log alone (no snapshot), through `fold-exec state` and the Go handler's
// apply.
func measureReplay(e *Env) error {
	n := e.N(1000000, 10000)
	dir, err := e.NewDir("root")
	if err != nil {
		return err
	}
	const id = "X"
	size, err := writeEventLog(dir, id, n)
	if err != nil {
		return err
	}
	e.Logf("wrote streams/counter/%s/app.jsonl: %d Incremented events, %.1f MiB, no snapshot", id, n, float64(size)/(1<<20))
	exe, err := e.Prog("fold-exec")
	if err != nil {
		return err
	}
	counter, err := e.Prog("counter-go")
	if err != nil {
		return err
	}
	var wall time.Duration
	for run := range e.Runs {
		res, err := e.Run(Proc{Args: []string{exe, "state", "--root", dir, "--handler", "counter=" + counter, "counter", id},
			KeepStdout: true, Label: fmt.Sprintf("d-%d", run+1)})
		if err != nil {
			return err
		}
		var st struct {
			Version uint64 `json:"version"`
			State   struct {
				Value int64 `json:"value"`
			} `json:"state"`
		}
		if err := json.Unmarshal(res.Stdout, &st); err != nil {
			return fmt.Errorf("fold-exec state printed %q: %w", res.Stdout, err)
		}
		if st.Version != uint64(n) || st.State.Value != int64(n) {
			return fmt.Errorf("fold-exec state printed %s; want version and value %d", res.Stdout, n)
		}
		if run == 0 || res.Wall < wall {
			wall = res.Wall
		}
	}
	rate := float64(n) / wall.Seconds()
	e.Add(Row{Measure: fmt.Sprintf("replay throughput, %.0f MiB log", float64(size)/(1<<20)),
		Value: float64(size) / (1 << 20) / wall.Seconds(), Unit: "MiB/s"})
	e.Add(Row{Measure: fmt.Sprintf("(d) replay, %s events, no snapshot (fold-exec state)%s", num(float64(n)), e.best()),
		Value: rate, Unit: "events/s", Target: AtLeast(1000000)})
	return nil
}
