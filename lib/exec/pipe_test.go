package exec

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// Pipe holds at most its memory's worth of input lines in flight, counted
// by their bytes, whatever their number: with large lines and an engine
// slower than the input, the reader fills the budget and waits, and every
// line still comes out, in order.
func TestPipeHoldsLinesWithinItsMemory(t *testing.T) {
	const lines, size, memory = 300, 3000, 64 << 10
	line := strings.Repeat("x", size)
	in := strings.NewReader(strings.Repeat(line+"\n", lines))

	var mu sync.Mutex
	held, most := 0, 0
	work := make(chan *Pending, lines)
	go func() { // a slow engine: one line per 100µs
		for p := range work {
			time.Sleep(100 * time.Microsecond)
			p.finish(Result{})
		}
	}()
	defer close(work)
	submit := func(l []byte) *Pending {
		mu.Lock()
		held += lineCost(len(l))
		most = max(most, held)
		mu.Unlock()
		p := &Pending{done: make(chan struct{})}
		work <- p
		return p
	}
	var next int64 = 1
	emit := func(o Outcome) error {
		if o.Line != next {
			t.Fatalf("line %d came out when %d was expected", o.Line, next)
		}
		next++
		mu.Lock()
		held -= lineCost(len(o.Input))
		mu.Unlock()
		return nil
	}
	if err := Pipe(context.Background(), in, record.MaxLine(record.DefaultMaxEvent), memory, submit, emit, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if next != lines+1 {
		t.Fatalf("%d lines came out, want %d", next-1, lines)
	}
	if most > memory {
		t.Errorf("%d bytes of lines were in flight at once, over the memory of %d", most, memory)
	}
	// Not vacuous: the reader was ahead of the engine and filled it.
	if most < memory-lineCost(size) {
		t.Errorf("at most %d bytes were in flight: the test never filled the memory of %d", most, memory)
	}
}

// One line larger than the whole memory still goes through, alone.
func TestPipeTakesALineLargerThanItsMemory(t *testing.T) {
	line := strings.Repeat("y", 10<<10)
	in := strings.NewReader(line + "\n" + line + "\n")
	n := 0
	submit := func(l []byte) *Pending {
		p := &Pending{done: make(chan struct{})}
		p.finish(Result{})
		return p
	}
	emit := func(o Outcome) error {
		if len(o.Input) != len(line) {
			t.Errorf("line %d: %d bytes, want %d", o.Line, len(o.Input), len(line))
		}
		n++
		return nil
	}
	if err := Pipe(context.Background(), in, record.MaxLine(record.DefaultMaxEvent), 1<<10, submit, emit, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d lines came out, want 2", n)
	}
}
