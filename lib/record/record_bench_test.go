package record_test

import (
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// A typical event line and envelope, as the counter example produces them.
var (
	benchEvent    = []byte(`{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c","actor":"cli","meta":{"correlation_id":"c-1"}}`)
	benchEnvelope = []byte(`{"aggregate_type":"counter","instance_id":"i000042","command":{"type":"Increment"},"context":{"actor":"cli","correlation_id":"c-1"}}`)
)

// BenchmarkAppendRecord is the encoding of every record fold-exec and
// fold-watch print.
func BenchmarkAppendRecord(b *testing.B) {
	r := record.Record{AggregateType: "counter", InstanceID: "i000042", Version: 1234, Offset: 123456,
		Hash: record.Hash(benchEvent), Event: benchEvent}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = record.AppendRecord(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkParseEnvelope is the decoding of every fold-exec input line.
func BenchmarkParseEnvelope(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEnvelope)))
	for b.Loop() {
		if _, err := record.ParseEnvelope(benchEnvelope, record.EnvelopeDefaults{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRecord is the decoding of every line fold-project and
// fold-pm read with --stdin.
func BenchmarkParseRecord(b *testing.B) {
	r := record.Record{AggregateType: "counter", InstanceID: "i000042", Version: 1234, Offset: 123456,
		Hash: record.Hash(benchEvent), Event: benchEvent}
	line := record.AppendRecord(nil, r)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := record.ParseRecord(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalEvent is the encoding of every event line a command
// appends.
func BenchmarkMarshalEvent(b *testing.B) {
	ev := record.Event{Type: "Incremented", Data: record.Null, Ts: 1764446400,
		ID: "5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c", Actor: "cli", Meta: record.RawMessage(`{"correlation_id":"c-1"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := record.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHash is the line hash of every line read or written.
func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		_ = record.Hash(benchEvent)
	}
}

// BenchmarkValid is the JSON check replay makes of every stored line.
func BenchmarkValid(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if !record.Valid(benchEvent) {
			b.Fatal("not valid")
		}
	}
}
