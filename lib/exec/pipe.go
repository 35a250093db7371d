package exec

import (
	"bytes"
	"context"
	"github.com/fold-es/fold/lib/record"
	"io"
	"sync"
	"time"
)

// window bounds how many input lines are in flight at once; Pipe's
// memory argument how many bytes they take, so memory stays bounded
// whatever the input's size and the length of its lines.
const window = 16384

// lineCost is what a line in flight takes of Pipe's memory: the line kept
// for its outcome, its command decoded beside it, and what goes with
// them (its slot, the engine's job, the outcome's channel and records).
func lineCost(n int) int { return 2*n + 512 }

// Outcome is the result for one input line.
type Outcome struct {
	Line   int64  // 1-based line number
	Input  []byte // the line as read
	Result Result
}

// Done returns a Pending that is already finished with f: how a caller
// reports a line that failed before it reached an actor.
func Done(f *Failure) *Pending {
	p := &Pending{done: make(chan struct{})}
	p.finish(failed(f))
	return p
}

// Pipe reads in line by line, hands each non-blank line to submit, and
// calls emit with the outcomes in input order while later lines are still
// being worked on. flush is called whenever the next outcome is not ready,
// so a pipe downstream sees records promptly. A line longer than maxLine
// (record.MaxLine) is not submitted: it fails as invalid input, naming
// its length and the limit, and the lines after it are read. The lines
// in flight take at most memory bytes (lineCost; one alone always fits):
// Engine.InputBudget. Pipe stops reading when stop is done (finishing the
// lines in hand) or when emit fails.
func Pipe(stop context.Context, in io.Reader, maxLine, memory int, submit func(line []byte) *Pending, emit func(Outcome) error, flush func() error) error {
	type slot struct {
		line  int64
		input []byte
		p     *Pending
	}
	slots := make(chan slot, window)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	// gate is held from submitting a line until its slot is queued, so a
	// stop never strands a submitted line without its outcome.
	var gate sync.Mutex
	stopped := false
	budget := record.NewBudget(memory)
	go func() {
		defer close(slots)
		err := record.ScanLines(in, maxLine, func(n int64, line []byte, tooLong error) bool {
			if !budget.Take(lineCost(len(line)), quit) {
				return false
			}
			line = bytes.Clone(line) // kept for the outcome
			gate.Lock()
			defer gate.Unlock()
			if stopped {
				return false
			}
			var p *Pending
			if tooLong != nil {
				p = Done(AsFailure(tooLong, KindInvalid))
			} else {
				p = submit(line)
			}
			s := slot{line: n, input: line, p: p}
			select {
			case slots <- s:
				return true
			case <-quit:
				return false
			}
		})
		if err != nil {
			readErr <- err
		}
	}()
	defer close(quit)
	emitted := emit
	emit = func(o Outcome) error {
		// The line is in use until emitted: only then is its room free.
		defer budget.Give(lineCost(len(o.Input)))
		return emitted(o)
	}
	// finish emits what was already submitted, then stops.
	finish := func() error {
		// The reader may be blocked queueing a line it submitted: keep
		// taking outcomes until it lets go of the gate.
		for !gate.TryLock() {
			select {
			case s, ok := <-slots:
				if ok {
					if err := emit(Outcome{Line: s.line, Input: s.input, Result: s.p.Wait()}); err != nil {
						return err
					}
				}
			case <-time.After(time.Millisecond):
			}
		}
		stopped = true
		gate.Unlock()
		for _, s := range drain(slots) {
			if err := emit(Outcome{Line: s.line, Input: s.input, Result: s.p.Wait()}); err != nil {
				return err
			}
		}
		return flush()
	}
	for {
		var s slot
		var ok bool
		select {
		case <-stop.Done():
			// Checked first: with fast input a slot is always ready, and
			// a stop must not wait for the input to end.
			return finish()
		default:
		}
		select {
		case s, ok = <-slots:
		default:
			if err := flush(); err != nil {
				return err
			}
			select {
			case s, ok = <-slots:
			case <-stop.Done():
				return finish()
			}
		}
		if !ok {
			break
		}
		if !s.p.Ready() {
			if err := flush(); err != nil {
				return err
			}
		}
		if err := emit(Outcome{Line: s.line, Input: s.input, Result: s.p.Wait()}); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	select {
	case err := <-readErr:
		return err
	default:
		return nil
	}
}

// drain returns what is buffered in ch now, without waiting for more.
func drain[T any](ch chan T) []T {
	var out []T
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		default:
			return out
		}
	}
}
