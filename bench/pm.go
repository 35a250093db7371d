package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// measurePM is (pm), issue 4: reactions per second through
// `fold-pm --batch 256 | fold-exec` end to end with the Go saga handlers (commands
// that reached their target streams, per second of the whole pipe), beside
// fold-exec's own rate on the very envelopes fold-pm emits, in the same
// run, each on a fresh copy of the same root.
//
// The root: inventory/sku-000..sku-099 stocked with plenty, then N orders
// order/o-…, each holding one Placed event of qty 1 (injected). fold-pm
// (the fulfil process manager, subscribed to order) reacts to each Placed
// with one Reserve for its sku; fold-exec runs them, and each appends one
// Reserved.
func measurePM(e *Env) error {
	orders, skus := e.N(20000, 2000), 100
	exe, err := e.Prog("fold-exec")
	if err != nil {
		return err
	}
	pmProg, err := e.Prog("fold-pm")
	if err != nil {
		return err
	}
	saga, err := e.Prog("saga-go")
	if err != nil {
		return err
	}
	dir, err := e.NewDir("input")
	if err != nil {
		return err
	}
	root0 := filepath.Join(dir, "root")

	// Stock every sku, then inject the orders.
	stock := filepath.Join(dir, "stock.jsonl")
	if err := writeLines(stock, skus, func(b []byte, i int, _ *rand.Rand) []byte {
		b = append(b, `{"aggregate_type":"inventory","instance_id":"`...)
		b = append(b, skuName(i)...)
		return append(b, `","command":{"type":"Stock","data":{"qty":1000000}}}`...)
	}); err != nil {
		return err
	}
	placed := filepath.Join(dir, "placed.jsonl")
	ts := time.Now().Unix()
	if err := writeLines(placed, orders, func(b []byte, i int, rng *rand.Rand) []byte {
		b = append(b, `{"aggregate_type":"order","instance_id":"o-`...)
		b = fmt.Appendf(b, "%06d", i)
		b = append(b, `","event":{"type":"Placed","data":{"sku":"`...)
		b = append(b, skuName(i%skus)...)
		b = append(b, `","qty":1},"ts":`...)
		b = strconv.AppendInt(b, ts, 10)
		b = append(b, `,"id":"`...)
		b = appendUUID(b, rng)
		return append(b, `"}}`...)
	}); err != nil {
		return err
	}
	e.Logf("setup (not timed): stock %d skus, inject %d Placed orders (qty 1 each, round-robin over the skus)", skus, orders)
	if res, err := e.setup(Proc{Args: []string{exe, "--root", root0, "--handler", "inventory=" + saga}, Stdin: stock}); err != nil {
		return err
	} else if res.Lines != int64(skus) {
		return fmt.Errorf("stocking printed %d records for %d skus", res.Lines, skus)
	}
	if res, err := e.setup(Proc{Args: []string{exe, "--root", root0, "--inject", "--sync", "none"}, Stdin: placed}); err != nil {
		return err
	} else if res.Lines != int64(orders) {
		return fmt.Errorf("--inject printed %d records for %d orders", res.Lines, orders)
	}

	pmArgs := func(root string) []string {
		return []string{pmProg, "--root", root, "--name", "b", "--subscribe", "order", "--handler", saga, "--batch", "256"}
	}
	execArgs := func(root string) []string {
		return []string{exe, "--root", root, "--handler", "order=" + saga, "--handler", "inventory=" + saga}
	}
	// Fresh copies first, for every timed run, so they all start from the
	// same root.
	type copies struct{ exec, pipe string }
	roots := make([]copies, e.Runs)
	for run := range e.Runs {
		for _, c := range []*string{&roots[run].exec, &roots[run].pipe} {
			d, err := e.NewDir("root")
			if err != nil {
				return err
			}
			*c = filepath.Join(d, "root")
			if err := e.copyRoot(root0, *c); err != nil {
				return err
			}
		}
	}
	e.Logf("fresh copies made with cp -a %s DIR (not timed)", root0)

	// What fold-pm emits, captured to a file: fold-exec's own input.
	e.Logf("fold-pm alone, its envelopes to a file")
	capRes, err := e.Run(Proc{Args: pmArgs(root0), KeepStdout: true, Label: "pm-fold-pm"})
	if err != nil {
		return err
	}
	if capRes.Lines != int64(orders) {
		return fmt.Errorf("fold-pm emitted %d envelopes for %d Placed orders", capRes.Lines, orders)
	}
	envelopes := filepath.Join(dir, "envelopes.jsonl")
	if err := os.WriteFile(envelopes, capRes.Stdout, 0o644); err != nil {
		return err
	}
	capRes.Stdout = nil

	var bestExec, bestPipe time.Duration
	for run := range e.Runs {
		e.Logf("fold-exec alone on those envelopes (fresh copy of the root)")
		xr, err := e.Run(Proc{Args: execArgs(roots[run].exec), Stdin: envelopes, KeepStdout: true, Label: fmt.Sprintf("pm-exec-%d", run+1)})
		if err != nil {
			return err
		}
		if err := checkReserved(xr.Stdout, orders); err != nil {
			return fmt.Errorf("fold-exec alone: %w", err)
		}
		e.Logf("the pipe, fold-pm | fold-exec (another fresh copy)")
		pr, err := e.RunPipe([]Proc{
			{Args: pmArgs(roots[run].pipe), Label: fmt.Sprintf("pm-pipe-pm-%d", run+1)},
			{Args: execArgs(roots[run].pipe), KeepStdout: true, Label: fmt.Sprintf("pm-pipe-exec-%d", run+1)},
		})
		if err != nil {
			return err
		}
		if err := checkReserved(pr.Out, orders); err != nil {
			return fmt.Errorf("fold-pm | fold-exec: %w", err)
		}
		e.Logf("  round %d: fold-exec alone %s cmd/s, pipe %s cmd/s, ratio %.3f", run+1,
			num(foldRate(orders, xr.Wall)), num(foldRate(orders, pr.Wall)), xr.Wall.Seconds()/pr.Wall.Seconds())
		if run == 0 || xr.Wall < bestExec {
			bestExec = xr.Wall
		}
		if run == 0 || pr.Wall < bestPipe {
			bestPipe = pr.Wall
		}
	}
	what := fmt.Sprintf("%s Placed → Reserve → Reserved, saga-go", num(float64(orders)))
	e.Add(Row{Measure: fmt.Sprintf("fold-pm alone (envelopes to a file), %s", what), Value: foldRate(orders, capRes.Wall), Unit: "cmd/s"})
	e.Add(Row{Measure: fmt.Sprintf("fold-exec alone on fold-pm's envelopes, %s%s", what, e.best()), Value: foldRate(orders, bestExec), Unit: "cmd/s"})
	e.Add(Row{Measure: fmt.Sprintf("fold-pm | fold-exec end to end, %s%s", what, e.best()), Value: foldRate(orders, bestPipe), Unit: "cmd/s"})
	e.Add(Row{Measure: "(pm) fold-pm | fold-exec / fold-exec alone", Value: bestExec.Seconds() / bestPipe.Seconds(), Unit: "ratio", Target: AtLeast(0.8)})
	return nil
}

func skuName(i int) string { return fmt.Sprintf("sku-%03d", i) }

// checkReserved checks that out holds n event records, each a Reserved.
func checkReserved(out []byte, n int) error {
	lines := bytes.Count(out, []byte{'\n'})
	reserved := bytes.Count(out, []byte(`"type":"Reserved"`))
	if lines != n || reserved != n {
		return fmt.Errorf("printed %d records, %d of them Reserved; want %d Reserved", lines, reserved, n)
	}
	return nil
}

// writeLines writes n lines made by line (without their newline).
func writeLines(path string, n int, line func(b []byte, i int, rng *rand.Rand) []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(3, uint64(time.Now().UnixNano())))
	var b []byte
	for i := range n {
		b = append(line(b[:0], i, rng), '\n')
		if _, err := w.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
