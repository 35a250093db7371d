package handler_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/fold-es/fold/lib/handler"
)

// BenchmarkCallRoundTrip is the protocol's fixed cost per request: one
// request line to a long-running co-process and its answer back. The
// handler is cat, which answers a request with itself at once, so what is
// measured is fold's side plus two pipe hops.
func BenchmarkCallRoundTrip(b *testing.B) {
	p := handler.New(handler.Config{Command: "exec cat"})
	defer p.Close()
	benchCalls(b, p, []byte(`{"op":"handle","aggregate_type":"counter","instance_id":"i000042","version":7,"state":{"value":7},"command":{"type":"Increment"},"context":{}}`))
}

// benchCalls sends req to c once to warm it up, then b.N times.
func benchCalls(b *testing.B, c handler.Caller, req []byte) {
	ctx := context.Background()
	if _, err := c.Call(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

type counterState struct {
	Value int64 `json:"value"`
}

type counterCommand struct {
	Type string `json:"type"`
}

var counter = handler.Aggregate[counterState, counterCommand]{
	Decide: func(s counterState, c counterCommand) ([]handler.Event, error) {
		return []handler.Event{{Type: "Incremented"}}, nil
	},
	Evolve: func(s counterState, ev handler.Event) counterState {
		if ev.Type == "Incremented" {
			s.Value++
		}
		return s
	},
}

// BenchmarkServeAggregateHandle is the Go SDK's cost per handle request:
// decode, decide, evolve, encode the answer. Per op is a batch of 10,000
// pipelined requests; see ns/request.
func BenchmarkServeAggregateHandle(b *testing.B) {
	req := []byte(`{"op":"handle","aggregate_type":"counter","instance_id":"i000042","version":7,"state":{"value":7},"command":{"type":"Increment"},"context":{}}` + "\n")
	const batch = 10000
	in := bytes.Repeat(req, batch)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := handler.ServeAggregate(bytes.NewReader(in), io.Discard, counter); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N*batch), "ns/request")
}

// BenchmarkServeAggregateApply is the Go SDK's replay: one apply request
// carrying 4,096 stored event lines (the batch fold-exec sends).
func BenchmarkServeAggregateApply(b *testing.B) {
	ev := `{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c"}`
	var buf bytes.Buffer
	buf.WriteString(`{"op":"apply","aggregate_type":"counter","instance_id":"X","state":{"value":7},"events":[`)
	const n = 4096
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(ev)
	}
	buf.WriteString("]}\n")
	in := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := handler.ServeAggregate(bytes.NewReader(in), io.Discard, counter); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
