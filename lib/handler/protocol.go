package handler

import (
	"fmt"

	"github.com/fold-es/fold/lib/record"
)

// The ops of protocol version 1.
const (
	OpHandle  = "handle"
	OpApply   = "apply"
	OpProject = "project"
	OpReact   = "react"
)

// HandleRequest asks an aggregate handler to decide on a command. Version
// is the number of events the stream holds before it.
type HandleRequest struct {
	Op            string            `json:"op"`
	AggregateType string            `json:"aggregate_type"`
	InstanceID    string            `json:"instance_id"`
	Version       uint64            `json:"version"`
	State         record.RawMessage `json:"state"`
	Command       record.RawMessage `json:"command"`
	Context       record.Context    `json:"context"`
}

// HandleAnswer is a decision: events, optionally followed by the state
// after them, or, when Error is set, a rejection. State is nil when the
// handler left it out and "null" when it said null.
type HandleAnswer struct {
	Events []EventOut        `json:"events"`
	State  record.RawMessage `json:"state,omitempty"`
	Error  *string           `json:"error,omitempty"`
}

// Rejected reports whether the handler refused the command; that is a
// decision, not a failure.
func (a HandleAnswer) Rejected() bool { return a.Error != nil }

// EventOut is an event as a handler decides it, adjacently tagged as in
// eventfold-es: the variant name and its payload (null when absent).
type EventOut struct {
	Type string            `json:"type"`
	Data record.RawMessage `json:"data"`
}

// ApplyRequest asks an aggregate handler to fold stored event lines onto a
// state.
type ApplyRequest struct {
	Op            string              `json:"op"`
	AggregateType string              `json:"aggregate_type"`
	InstanceID    string              `json:"instance_id"`
	State         record.RawMessage   `json:"state"`
	Events        []record.RawMessage `json:"events"`
}

// ApplyAnswer is the state after the events.
type ApplyAnswer struct {
	State record.RawMessage `json:"state"`
}

// ProjectRequest asks a projection handler to fold event records onto its
// state.
type ProjectRequest struct {
	Op      string              `json:"op"`
	Name    string              `json:"name"`
	State   record.RawMessage   `json:"state"`
	Records []record.RawMessage `json:"records"`
}

// ProjectAnswer is the projection's state after the records.
type ProjectAnswer struct {
	State record.RawMessage `json:"state"`
}

// ReactRequest asks a process manager handler to react to event records.
type ReactRequest struct {
	Op      string              `json:"op"`
	Name    string              `json:"name"`
	State   record.RawMessage   `json:"state"`
	Records []record.RawMessage `json:"records"`
}

// ReactAnswer is the process manager's state after the records and the
// command envelopes it wants dispatched.
type ReactAnswer struct {
	State    record.RawMessage   `json:"state"`
	Commands []record.RawMessage `json:"commands"`
}

// badAnswer is the error for an answer of the wrong shape. Handler is
// filled in by the callers that know it.
func badAnswer(line []byte, format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...), Output: quoteOutput(line), Err: ErrBadAnswer}
}

// decodeAnswer decodes line into v, naming the op in the error. An answer
// from Call is already known to be one JSON object (the reader checks
// every line), so the line is validated again only to explain a failure.
func decodeAnswer(op string, line []byte, v any) error {
	err := record.Unmarshal(line, v)
	switch {
	case err == nil:
		return nil
	case !record.IsObject(line) || !record.Valid(line):
		return badAnswer(line, "answered %q with something that is not a JSON object", op)
	}
	return badAnswer(line, "answered %q with a value of the wrong type (%s)", op, decodeReason(err))
}

// HandleAnswerFrom decodes and checks a handle answer, one valid JSON
// object as Call returns it; the answer may share line's bytes. A
// rejection is a valid answer: check Rejected.
func HandleAnswerFrom(line []byte) (HandleAnswer, error) {
	if a, ok := plainHandleAnswer(line); ok {
		return a, nil
	}
	var a HandleAnswer
	if err := decodeAnswer(OpHandle, line, &a); err != nil {
		return HandleAnswer{}, err
	}
	switch {
	case a.Error != nil && len(a.Events) > 0:
		return HandleAnswer{}, badAnswer(line, `answered "handle" with both "events" and "error"`)
	case a.Error != nil && *a.Error == "":
		return HandleAnswer{}, badAnswer(line, `answered "handle" with an empty "error"`)
	case a.Error != nil:
		a.Events, a.State = nil, nil
		return a, nil
	case a.Events == nil:
		return HandleAnswer{}, badAnswer(line, `answered "handle" with neither "events" nor "error"`)
	}
	for i := range a.Events {
		ev := &a.Events[i]
		if ev.Type == "" {
			return HandleAnswer{}, badAnswer(line, `answered "handle" with event %d that has no "type"`, i+1)
		}
		if ev.Data == nil {
			ev.Data = record.Null
		}
	}
	return a, nil
}

// stateAnswer is what apply, project and react answers have in common, with
// the error a Go SDK handler sends when it could not read a request.
type stateAnswer struct {
	State    record.RawMessage   `json:"state"`
	Commands []record.RawMessage `json:"commands"`
	Error    *string             `json:"error"`
}

func stateAnswerFrom(op string, line []byte) (stateAnswer, error) {
	if st, ok := plainStateAnswer(line); ok {
		return stateAnswer{State: st}, nil
	}
	var a stateAnswer
	if err := decodeAnswer(op, line, &a); err != nil {
		return stateAnswer{}, err
	}
	switch {
	case a.Error != nil:
		// Only handle can reject; anywhere else an error is a failure.
		// The message is all there is to quote.
		return stateAnswer{}, &Error{Reason: fmt.Sprintf("answered %q with an error: %q", op, *a.Error), Err: ErrBadAnswer}
	case a.State == nil:
		return stateAnswer{}, badAnswer(line, `answered %q without "state"`, op)
	}
	return a, nil
}

// ApplyAnswerFrom decodes and checks an apply answer.
func ApplyAnswerFrom(line []byte) (ApplyAnswer, error) {
	a, err := stateAnswerFrom(OpApply, line)
	return ApplyAnswer{State: a.State}, err
}

// ProjectAnswerFrom decodes and checks a project answer.
func ProjectAnswerFrom(line []byte) (ProjectAnswer, error) {
	a, err := stateAnswerFrom(OpProject, line)
	return ProjectAnswer{State: a.State}, err
}

// ReactAnswerFrom decodes and checks a react answer. Each command must be a
// JSON object; checking it is an envelope is left to the caller, which
// knows the defaults that apply.
func ReactAnswerFrom(line []byte) (ReactAnswer, error) {
	a, err := stateAnswerFrom(OpReact, line)
	if err != nil {
		return ReactAnswer{}, err
	}
	for i, c := range a.Commands {
		if !record.IsObject(c) {
			return ReactAnswer{}, badAnswer(line, `answered "react" with command %d that is not a JSON object`, i+1)
		}
	}
	return ReactAnswer{State: a.State, Commands: a.Commands}, nil
}
