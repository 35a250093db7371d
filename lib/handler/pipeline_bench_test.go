package handler

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// buildCounter builds the Go counter example (examples/counter/go) into a
// temporary directory and returns the binary's path.
func buildCounter(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("go is not in PATH")
	}
	bin := filepath.Join(tb.TempDir(), "counter")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/fold-es/fold/examples/counter/go")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipelined is the cost per request of a Pool of 2 Go counter
// handlers: one caller at a time, which pays a full round trip per request,
// and 16 concurrent callers, whose requests share the pipes' reads and
// writes.
func BenchmarkPipelined(b *testing.B) {
	bin := buildCounter(b)
	req := []byte(`{"op":"handle","aggregate_type":"counter","instance_id":"i000042","version":7,"state":{"value":7},"command":{"type":"Increment"},"context":{}}`)
	for _, callers := range []int{1, 16} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) {
			pool := NewPool(Config{Command: "'" + bin + "'"}, 2)
			defer pool.Close()
			ctx := context.Background()
			if _, err := pool.Call(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := cpuTime()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := pool.Call(ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			// Wall time depends on what else the machine runs; the CPU
			// this process spent is what a busy fold-exec runs out of.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
