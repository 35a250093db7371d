package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/fold-es/fold/lib/record"
)

// Caller carries requests to a handler: a Process or a Pool.
type Caller interface {
	Call(ctx context.Context, req []byte) ([]byte, error)
	Name() string
}

// Handle sends a handle request (Op is set for the caller) and returns the
// checked answer. A rejection is an answer, not an error.
func Handle(ctx context.Context, c Caller, req HandleRequest) (HandleAnswer, error) {
	req.Op = OpHandle
	req.State = orNull(req.State)
	req.Command = orNull(req.Command)
	return call(ctx, c, req, HandleAnswerFrom)
}

// Apply sends an apply request and returns the checked answer.
func Apply(ctx context.Context, c Caller, req ApplyRequest) (ApplyAnswer, error) {
	req.Op = OpApply
	req.State = orNull(req.State)
	req.Events = orEmpty(req.Events)
	return call(ctx, c, req, ApplyAnswerFrom)
}

// Project sends a project request and returns the checked answer.
func Project(ctx context.Context, c Caller, req ProjectRequest) (ProjectAnswer, error) {
	req.Op = OpProject
	req.State = orNull(req.State)
	req.Records = orEmpty(req.Records)
	return call(ctx, c, req, ProjectAnswerFrom)
}

// React sends a react request and returns the checked answer.
func React(ctx context.Context, c Caller, req ReactRequest) (ReactAnswer, error) {
	req.Op = OpReact
	req.State = orNull(req.State)
	req.Records = orEmpty(req.Records)
	return call(ctx, c, req, ReactAnswerFrom)
}

// call is the shared round trip: encode, call, decode, and name the handler
// in a shape error, which the decoders cannot know.
func call[A any](ctx context.Context, c Caller, req any, decode func([]byte) (A, error)) (A, error) {
	var zero A
	b, err := record.Marshal(req)
	if err != nil {
		return zero, fmt.Errorf("encode request for %s: %w", c.Name(), err)
	}
	line, err := c.Call(ctx, b)
	if err != nil {
		return zero, err
	}
	a, err := decode(line)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			e.Handler = c.Name()
		}
		return zero, err
	}
	return a, nil
}

// orNull sends an absent state or command as null, which the protocol
// gives a meaning, rather than leaving the key out.
func orNull(m record.RawMessage) record.RawMessage {
	if m == nil {
		return record.Null
	}
	return m
}

// orEmpty sends an absent batch as [], so handlers can iterate it.
func orEmpty(ms []record.RawMessage) []record.RawMessage {
	if ms == nil {
		return []record.RawMessage{}
	}
	return ms
}
