package handler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// stoppedWithin reports whether r's run is stopped within d, asking Done
// again and again as gojq does at each step of a program.
func stoppedWithin(r *runner, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
		select {
		case <-r.Done():
			return true
		default:
		}
	}
	return false
}

func TestRunner(t *testing.T) {
	r := newRunner()
	// Stopped at its timeout, and told so.
	r.start(context.Background(), 20*time.Millisecond)
	if !stoppedWithin(r, 5*time.Second) {
		t.Fatal("not stopped at its timeout")
	}
	if err := r.Err(); err != errRunTimeout {
		t.Fatalf("Err() = %v", err)
	}
	if err := r.finish(); err != errRunTimeout {
		t.Fatalf("r.finish() = %v", err)
	}
	// The next run starts afresh; an expiry of an earlier run that comes
	// late does not stop it.
	r.start(context.Background(), time.Hour)
	r.expire()
	if stoppedWithin(r, 50*time.Millisecond) {
		t.Fatal("stopped by a late expiry")
	}
	if err := r.finish(); err != nil {
		t.Fatalf("r.finish() = %v", err)
	}
	// Stopped when the caller's context is done.
	ctx, cancel := context.WithCancel(context.Background())
	r.start(ctx, 0)
	cancel()
	if !stoppedWithin(r, 5*time.Second) {
		t.Fatal("not stopped with its context")
	}
	if err := r.finish(); err != context.Canceled {
		t.Fatalf("r.finish() = %v", err)
	}
	// No run: a stop does nothing.
	r.stop(errRunTimeout)
	if r.Err() != nil {
		t.Fatal("stopped with no run")
	}
}

// BenchmarkJQProjectRun is what stays on a projection's path once its
// batches are decoded ahead: total_counter.jq's run over 1,024 records,
// the batch fold-project sends, and the answer's encoding; see events/s.
func BenchmarkJQProjectRun(b *testing.B) {
	const n = 1024
	p := NewPool(Config{Command: "jq:../../examples/counter/total_counter.jq", Timeout: 30e9}, 1)
	defer p.Close()
	var recs []string
	for i := range n {
		recs = append(recs, fmt.Sprintf(`{"aggregate_type":"counter","instance_id":"i%06d","version":%d,"event":{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c"},"offset":%d,"hash":"0123456789abcdef"}`, i, i+1, 120*(i+1)))
	}
	req := []byte(`{"op":"project","name":"total-counter","state":{"total_increments":7,"total_decrements":0,"total_resets":0},"records":[` + strings.Join(recs, ",") + `]}`)
	ctx := context.Background()
	if _, err := p.Call(ctx, req); err != nil { // compiles the program
		b.Fatal(err)
	}
	// gojq does not change its input: one decoded request serves every run.
	in, err := decodeValue(req)
	if err != nil {
		b.Fatal(err)
	}
	r := <-p.jq.runners
	b.ReportAllocs()
	for b.Loop() {
		r.start(ctx, p.cfg.Timeout)
		_, err := p.jq.run(r, in)
		r.finish()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
