// Package projection folds event records into a read model through a
// projection handler (the protocol's "project" op). A Projection holds the
// state and the cursors that make its checkpoint; it skips the records
// its cursors already cover, so feeding it the same records twice changes
// nothing, and it changes nothing when the handler fails on a batch.
package projection

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// Projection is one named projection's state and cursors. It is not safe
// for concurrent use.
type Projection struct {
	name    string
	h       handler.Caller
	state   record.RawMessage
	cursors map[string]record.Cursor
	moved   map[string]record.Cursor // cursors a batch moves, before its answer
	req     []byte                   // the request buffer, reused
}

// New returns the projection name, served by h, starting from cp (a loaded
// checkpoint, or checkpoint.Empty()). cp's cursors map is taken over.
func New(name string, h handler.Caller, cp record.Checkpoint) *Projection {
	p := &Projection{name: name, h: h, moved: map[string]record.Cursor{}}
	p.load(cp)
	return p
}

func (p *Projection) load(cp record.Checkpoint) {
	p.state = cp.State
	if p.state == nil {
		p.state = record.Null
	}
	p.cursors = cp.Cursors
	if p.cursors == nil {
		p.cursors = map[string]record.Cursor{}
	}
}

// Reset drops the state and cursors, for a rebuild.
func (p *Projection) Reset() {
	p.load(record.Checkpoint{})
}

// State is the current state (null until the handler has returned one).
func (p *Projection) State() record.RawMessage { return p.state }

// Cursors is the live cursor map, "type/id" → position just past the last
// record applied; a watch.Source reads from it.
func (p *Projection) Cursors() map[string]record.Cursor { return p.cursors }

// Checkpoint returns the state and cursors to save.
func (p *Projection) Checkpoint() record.Checkpoint {
	return record.Checkpoint{State: p.state, Cursors: p.cursors}
}

// Apply sends the records its cursors do not cover to the handler in one
// request and takes the state it answers, moving the cursors past them. A
// record is sent once even when recs holds it twice (a pipe fed the same
// records again). It reports how many records were sent and whether the
// state changed. When the handler fails, nothing changes and the error
// names the handler.
func (p *Projection) Apply(ctx context.Context, recs []record.Record) (applied int, changed bool, err error) {
	return p.apply(ctx, recs, nil)
}

// apply is Apply. array, when not nil, is recs written as a JSON array
// (appendArray): the request takes it as it is when no record is skipped,
// which is what the handler decoded ahead.
func (p *Projection) apply(ctx context.Context, recs []record.Record, array []byte) (applied int, changed bool, err error) {
	p.req = append(p.req[:0], `{"op":"project","name":`...)
	p.req = record.AppendString(p.req, p.name)
	p.req = append(p.req, `,"state":`...)
	p.req = append(p.req, p.state...)
	p.req = append(p.req, `,"records":[`...)
	start := len(p.req)
	// Records come grouped by stream: the cursor is looked up once per
	// group and moved as records are taken; a group's end leaves it in
	// moved, where a later group of the same stream finds it.
	clear(p.moved)
	var key string
	var cur record.Cursor
	var have bool
	var last record.StreamID
	for i, r := range recs {
		if i == 0 || r.AggregateType != last.Type || r.InstanceID != last.ID {
			if i > 0 && have {
				p.moved[key] = cur
			}
			last = r.Stream()
			key = last.String()
			if cur, have = p.moved[key]; !have {
				cur, have = p.cursors[key]
			}
		}
		if have && r.Offset <= cur.Offset {
			if array != nil {
				// Not the array after all: the records taken so far
				// (all of them until this one) are written one by one.
				p.req = appendRecords(p.req[:start], recs[:i])
				array = nil
			}
			continue
		}
		cur, have = record.Cursor{Offset: r.Offset, Hash: r.Hash}, true
		if array == nil {
			if applied > 0 {
				p.req = append(p.req, ',')
			}
			p.req = record.AppendRecord(p.req, r)
		}
		applied++
	}
	if array != nil {
		p.req = append(p.req, array[1:len(array)-1]...)
	}
	if applied == 0 {
		return 0, false, nil
	}
	if have {
		p.moved[key] = cur
	}
	p.req = append(p.req, "]}"...)
	state, err := p.call(ctx)
	if err != nil {
		return 0, false, err
	}
	changed = !bytes.Equal(state, p.state)
	p.state = state
	// Only now, with the state taken, do the cursors move.
	for k, c := range p.moved {
		if old, ok := p.cursors[k]; !ok || c.Offset > old.Offset {
			p.cursors[k] = c
		}
	}
	return applied, changed, nil
}

// Init asks the handler for its initial state (a project request with no
// records) when the state is still null, so a projection that has seen no
// record shows the handler's default rather than null.
func (p *Projection) Init(ctx context.Context) error {
	if !record.IsNull(p.state) {
		return nil
	}
	ans, err := handler.Project(ctx, p.h, handler.ProjectRequest{Name: p.name, State: p.state})
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	p.state = ans.State
	return nil
}

func (p *Projection) call(ctx context.Context) (record.RawMessage, error) {
	line, err := p.h.Call(ctx, p.req)
	if err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	ans, err := handler.ProjectAnswerFrom(line)
	if err != nil {
		if e, ok := errors.AsType[*handler.Error](err); ok && e.Handler == "" {
			e.Handler = p.h.Name()
		}
		return nil, fmt.Errorf("project: %w", err)
	}
	return ans.State, nil
}
