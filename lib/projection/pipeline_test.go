package projection

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// incremented is record v of stream, an Incremented event.
func incremented(stream string, v uint64) record.Record {
	r := rec(stream, v)
	r.Event = record.RawMessage(`{"type":"Incremented","data":null,"ts":1}`)
	return r
}

// The pipeline gives an in-process jq handler each batch to decode ahead;
// whatever the batches, and whether or not what the request holds is what
// was decoded ahead (a batch that repeats records applied before sends
// fewer), the state is that of each record applied once.
func TestPipelineJQBatches(t *testing.T) {
	recs := func(stream string, from, to uint64) []record.Record {
		var rs []record.Record
		for v := from; v <= to; v++ {
			rs = append(rs, incremented(stream, v))
		}
		return rs
	}
	for name, batches := range map[string][][]record.Record{
		"one batch":    {append(recs("a/1", 1, 300), recs("b/1", 1, 200)...)},
		"many batches": {recs("a/1", 1, 100), recs("a/1", 101, 300), recs("b/1", 1, 1), recs("b/1", 2, 200)},
		"overlapping":  {recs("a/1", 1, 150), recs("a/1", 100, 300), append(recs("b/1", 1, 200), recs("a/1", 250, 300)...), recs("a/1", 1, 300)},
	} {
		t.Run(name, func(t *testing.T) {
			h := handler.NewPool(handler.Config{Command: "jq:../../examples/counter/total_counter.jq", Timeout: 20 * time.Second}, 1)
			defer h.Close()
			r := &Runner{Proj: New("total-counter", h, record.Checkpoint{})}
			r.init(context.Background())
			pl := newPipeline(r)
			for _, b := range batches {
				if err := pl.submit(b); err != nil {
					t.Fatal(err)
				}
			}
			err := pl.wait()
			pl.close()
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"total_decrements":0,"total_increments":500,"total_resets":0}`; string(r.Proj.State()) != want {
				t.Fatalf("state %s; want %s", r.Proj.State(), want)
			}
			if r.Applied() != 500 {
				t.Fatalf("%d records applied; want 500", r.Applied())
			}
		})
	}
}

// Given the batch as a JSON array, the request holds it as it is when no
// record is skipped, and the records taken one by one when one is, at
// the start, in the middle or at the end.
func TestApplyArray(t *testing.T) {
	batch := []record.Record{rec("a/1", 1), rec("a/1", 2), rec("b/1", 1), rec("b/1", 2)}
	array := appendArray(nil, batch)
	for _, c := range []struct {
		covered map[string]record.Cursor
		want    string
	}{
		{nil, "[a/1@1 a/1@2 b/1@1 b/1@2]"},
		{map[string]record.Cursor{"a/1": {Offset: 10}}, "[a/1@2 b/1@1 b/1@2]"},
		{map[string]record.Cursor{"b/1": {Offset: 10}}, "[a/1@1 a/1@2 b/1@2]"},
		{map[string]record.Cursor{"b/1": {Offset: 20}}, "[a/1@1 a/1@2]"},
	} {
		h := &counter{}
		p := New("p", h, record.Checkpoint{Cursors: c.covered})
		n, _, err := p.apply(context.Background(), batch, array)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range h.last {
			got = append(got, fmt.Sprintf("%s/%s@%d", r.AggregateType, r.InstanceID, r.Version))
		}
		if fmt.Sprint(got) != c.want || n != len(got) {
			t.Errorf("covered %v: handler saw %v (%d applied); want %s", c.covered, got, n, c.want)
		}
		if c.covered == nil && !bytes.Contains(p.req, array) {
			t.Errorf("the request %s does not hold the array as it is", p.req)
		}
	}
}
