package pm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// taggingPM is fakePM for batched requests: it reacts to each record in
// turn, and tags each command with the index of its record, as the Go SDK
// does. untagged leaves the tags out.
type taggingPM struct {
	j        *journal
	untagged bool
}

func (f *taggingPM) Name() string { return `handler "tagging"` }

func (f *taggingPM) Call(ctx context.Context, req []byte) ([]byte, error) {
	var r struct {
		State   *int            `json:"state"`
		Records []record.Record `json:"records"`
	}
	if err := record.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	state := 0
	if r.State != nil {
		state = *r.State
	}
	var cmds []string
	for i, rec := range r.Records {
		one := fmt.Appendf(nil, `{"op":"react","name":"test","state":%d,"records":[%s]}`, state, record.AppendRecord(nil, rec))
		ans, err := (&fakePM{j: f.j}).Call(ctx, one)
		if err != nil {
			return nil, err
		}
		var a struct {
			State    int                 `json:"state"`
			Commands []record.RawMessage `json:"commands"`
		}
		if err := record.Unmarshal(ans, &a); err != nil {
			return nil, err
		}
		state = a.State
		for _, c := range a.Commands {
			if !f.untagged {
				c = fmt.Appendf(nil, `%s,"record":%d}`, strings.TrimSuffix(string(c), "}"), i)
			}
			cmds = append(cmds, string(c))
		}
	}
	return fmt.Appendf(nil, `{"state":%d,"commands":[%s]}`, state, strings.Join(cmds, ",")), nil
}

func batchedRig(size int, h interface {
	Name() string
	Call(context.Context, []byte) ([]byte, error)
}) *rig {
	j := &journal{}
	r := &rig{j: j, w: &writer{j: j}, s: &saver{j: j}, letters: &memLetters{j: j}}
	r.m = New(Config{Name: "test", Types: []string{"order"}, Handler: h, Sink: NewEmitter(r.w),
		Checkpoint: r.s, DeadLetters: r.letters, Batch: size}, record.Checkpoint{})
	return r
}

// TestBatchesGiveTheSameIDs: however many records go in one request, each
// command gets the id of its own record, and the state and cursors end the
// same.
func TestBatchesGiveTheSameIDs(t *testing.T) {
	one := newRig(record.Checkpoint{})
	if err := one.m.Run(context.Background(), batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{2, 3, 64} {
		r := batchedRig(size, &taggingPM{j: &journal{}})
		if err := r.m.Run(context.Background(), batches(twoBatches...)); err != nil {
			t.Fatalf("batch %d: %v", size, err)
		}
		if got, want := ids(t, r.w.out.Bytes()), ids(t, one.w.out.Bytes()); !slices.Equal(got, want) {
			t.Errorf("batch %d: ids %q, want %q", size, got, want)
		}
		if string(r.s.last.State) != string(one.s.last.State) || len(r.s.last.Cursors) != len(one.s.last.Cursors) {
			t.Errorf("batch %d: checkpoint %+v, want %+v", size, r.s.last, one.s.last)
		}
	}
}

func TestUntaggedBatchIsRefused(t *testing.T) {
	r := batchedRig(3, &taggingPM{j: &journal{}, untagged: true})
	err := r.m.Run(context.Background(), batches(twoBatches...))
	var re *ReactError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `"record"`) {
		t.Fatalf("untagged batched answer: %v", err)
	}
	if r.w.out.Len() != 0 {
		t.Errorf("commands went out: %s", r.w.out.Bytes())
	}
}
