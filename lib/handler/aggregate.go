package handler

import (
	"io"
	"reflect"

	"github.com/fold-es/fold/lib/record"
)

// Aggregate is an aggregate's domain logic as two pure functions, the
// eventfold-es Aggregate trait: Decide turns a command into events or
// refuses it, Evolve applies one event to the state. S and C are decoded
// from and S encoded to JSON; a null state is the zero S.
type Aggregate[S any, C any] struct {
	// Decide returns the events cmd causes, or an error whose text is sent
	// as the rejection.
	Decide func(state S, cmd C) ([]Event, error)
	// Evolve returns the state after ev. Use ev.Decode to read its data.
	Evolve func(state S, ev Event) S
}

// Event is one event as Decide makes it and Evolve sees it; on the wire it
// is {"type":…,"data":…}. For events read from the log, Data holds the
// record.RawMessage as stored; for events Decide just made, it holds what
// Decide put there. Event.Decode reads either.
type Event struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// Decode stores the event's data in v, a pointer. Null or absent data
// leaves v as it is.
func (e Event) Decode(v any) error {
	switch d := e.Data.(type) {
	case nil:
		return nil
	case record.RawMessage:
		if record.IsNull(d) {
			return nil
		}
		return record.Unmarshal(d, v)
	}
	// A value straight from Decide: no need to go through JSON when it is
	// what v points to.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() &&
		rv.Elem().Type() == reflect.TypeOf(e.Data) {
		rv.Elem().Set(reflect.ValueOf(e.Data))
		return nil
	}
	b, err := record.Marshal(e.Data)
	if err != nil {
		return err
	}
	return record.Unmarshal(b, v)
}

// storedEvent is the part of a stored event line Evolve needs; the rest
// (ts, id, meta) is skipped by the decoder.
type storedEvent struct {
	Type string            `json:"type"`
	Data record.RawMessage `json:"data"`
}

// aggregateRequest holds the fields of handle and apply requests the SDK
// reads; one decode serves both ops.
type aggregateRequest struct {
	Op      string            `json:"op"`
	State   record.RawMessage `json:"state"`
	Command record.RawMessage `json:"command"`
	Events  []storedEvent     `json:"events"`
}

type decidedAnswer[S any] struct {
	Events []Event `json:"events"`
	State  S       `json:"state"`
}

// ServeAggregate serves handle and apply requests from in to out until in
// ends. A handle answer carries the state after the new events, so fold
// needs no apply round trip to learn it.
func ServeAggregate[S, C any](in io.Reader, out io.Writer, agg Aggregate[S, C]) error {
	return serve(in, out, func(line []byte) any {
		var req aggregateRequest
		if err := record.Unmarshal(line, &req); err != nil {
			return errorf("decode request: %s", decodeReason(err))
		}
		if req.Op != OpHandle && req.Op != OpApply {
			return unknownOp(req.Op)
		}
		var state S
		if err := decodeState(req.State, &state); err != nil {
			return errorf("decode state: %s", decodeReason(err))
		}
		if req.Op == OpHandle {
			return agg.handle(state, req.Command)
		}
		for _, se := range req.Events {
			ev := Event{Type: se.Type, Data: se.Data}
			if se.Data == nil {
				ev.Data = record.Null
			}
			state = agg.Evolve(state, ev)
		}
		return stateOnly[S]{State: state}
	})
}

func (agg Aggregate[S, C]) handle(state S, raw record.RawMessage) any {
	var cmd C
	if !record.IsNull(raw) {
		if err := record.Unmarshal(raw, &cmd); err != nil {
			return errorf("decode command: %s", decodeReason(err))
		}
	}
	evs, err := agg.Decide(state, cmd)
	if err != nil {
		return errorAnswer{Error: err.Error()}
	}
	if evs == nil {
		evs = []Event{} // "events": null would read as neither events nor error
	}
	for _, ev := range evs {
		state = agg.Evolve(state, ev)
	}
	return decidedAnswer[S]{Events: evs, State: state}
}
