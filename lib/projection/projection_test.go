package projection

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// counter is a fake handler: its state is the number of records seen.
type counter struct {
	calls int
	fail  error
	last  []record.Record
}

func (c *counter) Name() string { return `handler "counter"` }

func (c *counter) Call(_ context.Context, req []byte) ([]byte, error) {
	c.calls++
	if c.fail != nil {
		return nil, c.fail
	}
	var r struct {
		Op      string          `json:"op"`
		Name    string          `json:"name"`
		State   *int            `json:"state"`
		Records []record.Record `json:"records"`
	}
	if err := record.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("bad request %s: %w", req, err)
	}
	if r.Op != "project" || r.Name != "p" {
		return nil, fmt.Errorf("bad request %s", req)
	}
	n := 0
	if r.State != nil {
		n = *r.State
	}
	c.last = r.Records
	return fmt.Appendf(nil, `{"state":%d}`, n+len(r.Records)), nil
}

func rec(stream string, v uint64) record.Record {
	t, id, _ := cut(stream)
	return record.Record{AggregateType: t, InstanceID: id, Version: v, Offset: int64(v) * 10, Hash: fmt.Sprintf("h%d", v), Event: record.RawMessage(`{"type":"E","data":null,"ts":1}`)}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestApplySkipsCoveredRecords(t *testing.T) {
	h := &counter{}
	p := New("p", h, record.Checkpoint{State: record.RawMessage("2"), Cursors: map[string]record.Cursor{"a/1": {Offset: 20, Hash: "h2"}}})
	batch := []record.Record{rec("a/1", 1), rec("a/1", 2), rec("a/1", 3), rec("b/1", 1)}
	n, changed, err := p.Apply(context.Background(), batch)
	if err != nil || n != 2 || !changed {
		t.Fatalf("Apply = %d, %v, %v; want 2 applied, changed", n, changed, err)
	}
	if string(p.State()) != "4" || len(h.last) != 2 || h.last[0].Version != 3 {
		t.Fatalf("state %s, handler saw %+v", p.State(), h.last)
	}
	if c := p.Cursors()["a/1"]; c != (record.Cursor{Offset: 30, Hash: "h3"}) {
		t.Fatalf("a/1 cursor = %+v", c)
	}
	// The same batch again: idempotent, the handler is not even called.
	calls := h.calls
	n, changed, err = p.Apply(context.Background(), batch)
	if err != nil || n != 0 || changed || h.calls != calls {
		t.Fatalf("re-Apply = %d, %v, %v (calls %d→%d); want a no-op", n, changed, err, calls, h.calls)
	}
}

// A batch that holds the same records twice (a pipe fed the same input
// again) applies each once, whether the copies are adjacent or the
// streams interleave.
func TestApplyTakesEachRecordOnce(t *testing.T) {
	h := &counter{}
	p := New("p", h, record.Checkpoint{})
	batch := []record.Record{rec("a/1", 1), rec("b/1", 1), rec("a/1", 2), rec("a/1", 1), rec("b/1", 1), rec("a/1", 2), rec("a/1", 3), rec("a/1", 3)}
	n, _, err := p.Apply(context.Background(), batch)
	if err != nil || n != 4 {
		t.Fatalf("Apply = %d, %v; want 4 applied", n, err)
	}
	var got []string
	for _, r := range h.last {
		got = append(got, fmt.Sprintf("%s/%s@%d", r.AggregateType, r.InstanceID, r.Version))
	}
	if want := "[a/1@1 b/1@1 a/1@2 a/1@3]"; fmt.Sprint(got) != want {
		t.Fatalf("handler saw %v; want %s", got, want)
	}
	if string(p.State()) != "4" || p.Cursors()["a/1"].Offset != 30 || p.Cursors()["b/1"].Offset != 10 {
		t.Fatalf("state %s, cursors %v", p.State(), p.Cursors())
	}
}

func TestApplyFailureChangesNothing(t *testing.T) {
	h := &counter{fail: errors.New("exited")}
	p := New("p", h, record.Checkpoint{})
	_, _, err := p.Apply(context.Background(), []record.Record{rec("a/1", 1)})
	if err == nil || !errors.Is(err, h.fail) {
		t.Fatalf("Apply = %v; want the handler's error", err)
	}
	if string(p.State()) != "null" || len(p.Cursors()) != 0 {
		t.Fatalf("after a failure: state %s, cursors %v", p.State(), p.Cursors())
	}
}

func TestApplyBadAnswer(t *testing.T) {
	p := New("p", answer(`{"nostate":1}`), record.Checkpoint{})
	_, _, err := p.Apply(context.Background(), []record.Record{rec("a/1", 1)})
	if err == nil || len(p.Cursors()) != 0 {
		t.Fatalf("Apply = %v, cursors %v; want an error and nothing moved", err, p.Cursors())
	}
}

type answer string

func (a answer) Name() string                                 { return "fixed" }
func (a answer) Call(context.Context, []byte) ([]byte, error) { return []byte(a), nil }

func TestInitAndReset(t *testing.T) {
	h := &counter{}
	p := New("p", h, record.Checkpoint{})
	if err := p.Init(context.Background()); err != nil || string(p.State()) != "0" {
		t.Fatalf("Init = %v, state %s; want the handler's initial state 0", err, p.State())
	}
	calls := h.calls
	if err := p.Init(context.Background()); err != nil || h.calls != calls {
		t.Fatal("Init asked the handler again for a state it has")
	}
	p.Apply(context.Background(), []record.Record{rec("a/1", 1)})
	p.Reset()
	if string(p.State()) != "null" || len(p.Cursors()) != 0 {
		t.Fatalf("after Reset: state %s, cursors %v", p.State(), p.Cursors())
	}
}
