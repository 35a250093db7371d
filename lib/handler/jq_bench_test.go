package handler_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/handler"
)

// jqBench runs req through an in-process jq handler b.N times.
func jqBench(b *testing.B, file string, req []byte) {
	p := handler.NewPool(handler.Config{Command: "jq:../../examples/counter/" + file, Timeout: 30e9}, 1)
	defer p.Close()
	benchCalls(b, p, req)
}

// BenchmarkJQHandle is an in-process jq handler's cost per handle request:
// decode the request, run counter.jq, encode its answer.
func BenchmarkJQHandle(b *testing.B) {
	jqBench(b, "counter.jq", []byte(`{"op":"handle","aggregate_type":"counter","instance_id":"i000042","version":7,"state":{"value":7},"command":{"type":"Increment"},"context":{}}`))
}

// BenchmarkJQApply is the replay of a snapshot's worth of events (100).
func BenchmarkJQApply(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"op":"apply","aggregate_type":"counter","instance_id":"i000042","state":{"value":7},"events":[`)
	for i := range 100 {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f%04d"}`, i)
	}
	buf.WriteString("]}")
	jqBench(b, "counter.jq", buf.Bytes())
}

// BenchmarkJQProject is total_counter.jq over a batch of 256 event
// records, the batch fold-project sends; see events/s.
func BenchmarkJQProject(b *testing.B) {
	const n = 256
	var buf bytes.Buffer
	buf.WriteString(`{"op":"project","name":"total-counter","state":{"total_increments":7,"total_decrements":0,"total_resets":0},"records":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"aggregate_type":"counter","instance_id":"i%06d","version":%d,"event":{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c"},"offset":%d,"hash":"0123456789abcdef"}`, i, i+1, 120*(i+1))
	}
	buf.WriteString("]}")
	jqBench(b, "total_counter.jq", buf.Bytes())
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
