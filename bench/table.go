package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one line of the result table.
type Row struct {
	Key     string // the measurement's key
	Measure string
	Value   float64
	Unit    string
	Target  Target // zero: a figure shown for context, with no target
	Err     error  // the measurement failed; Value means nothing
}

// Target is what a figure should reach.
type Target struct {
	Op    string // ">=", "<" or "<="; "" for none
	Value float64
}

// AtLeast, Below and AtMost build targets.
func AtLeast(v float64) Target { return Target{Op: ">=", Value: v} }
func Below(v float64) Target   { return Target{Op: "<", Value: v} }
func AtMost(v float64) Target  { return Target{Op: "<=", Value: v} }

func (t Target) String() string {
	switch t.Op {
	case ">=":
		return "≥ " + num(t.Value)
	case "<":
		return "< " + num(t.Value)
	case "<=":
		return "≤ " + num(t.Value)
	}
	return ""
}

// verdict gives the figure as a multiple of the target and whether it is met.
func (r Row) verdict() (ratio string, ok bool, has bool) {
	if r.Target.Op == "" || r.Err != nil {
		return "", true, false
	}
	x := r.Value / r.Target.Value
	switch r.Target.Op {
	case ">=":
		ok = r.Value >= r.Target.Value
	case "<":
		ok = r.Value < r.Target.Value
	case "<=":
		ok = r.Value <= r.Target.Value
	}
	return fmt.Sprintf("%.2fx", x), ok, true
}

// printTable prints the rows and returns how many targets were missed.
func printTable(w io.Writer, rows []Row) (missed int) {
	lw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(lw, "key\tmeasure\tvalue\tunit\ttarget\tratio\tverdict\t")
	fmt.Fprintln(lw, "---\t-------\t-----\t----\t------\t-----\t-------\t")
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(lw, "%s\t%s\t-\t\t\t\tFAILED\t\n", r.Key, r.Measure)
			missed++
			continue
		}
		ratio, ok, has := r.verdict()
		v := ""
		if has {
			v = "ok"
			if !ok {
				v = "MISS"
				missed++
			}
		}
		fmt.Fprintf(lw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Key, r.Measure, num(r.Value), r.Unit, r.Target, ratio, v)
	}
	lw.Flush()
	return missed
}

// num formats a figure readably: thousands separated, few decimals.
func num(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return group(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
