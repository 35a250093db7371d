package pm

import (
	"context"
	"fmt"
	"github.com/fold-es/fold/lib/consumer"
	"io"
	"os"
	"testing"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

type nopSaver struct{}

func (nopSaver) Moved(record.Checkpoint) error { return nil }
func (nopSaver) Save() error                   { return nil }

// BenchmarkReact is the process manager's own cost per record: a react
// round trip to a Go handler (this test binary), preparing its command and
// printing it. It bounds the reactions/s of fold-pm | fold-exec.
func BenchmarkReact(b *testing.B) { benchReact(b, 1) }

// BenchmarkReactBatch is the same with 256 records a request, as the
// bench's (pm) row runs fold-pm (--batch 256): what is left is fold-pm's
// own CPU per record, not the round trips.
func BenchmarkReactBatch(b *testing.B) { benchReact(b, 256) }

func benchReact(b *testing.B, batch int) {
	h := handler.New(handler.Config{Command: fmt.Sprintf("%q -test.run=^$", os.Args[0]), Env: []string{"FOLD_PM_TEST_REACT=1"}, Stderr: os.Stderr})
	defer h.Close()
	recs := make([]record.Record, 1024)
	for i := range recs {
		recs[i] = record.Record{AggregateType: "order", InstanceID: fmt.Sprintf("o-%d", i), Version: 1, Offset: 120, Hash: "0123456789abcdef",
			Event: record.RawMessage(`{"type":"Placed","data":{"sku":"widget","qty":2},"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c"}`)}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		// A fresh Manager each round, so no record is skipped as seen.
		m := New(Config{Name: "bench", Handler: h, Sink: NewEmitter(consumer.Pipe{Writer: io.Discard}), Checkpoint: nopSaver{}, Batch: batch, DeadLetters: &memLetters{j: &journal{}}}, record.Checkpoint{})
		if err := m.Run(context.Background(), batches(recs)); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "reactions/s")
}
