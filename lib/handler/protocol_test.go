package handler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

func TestHandleAnswerFrom(t *testing.T) {
	tests := []struct {
		name, line string
		events     int
		state      string // "" means absent
		rejected   string
		err        string
	}{
		{name: "events and state", line: `{"events":[{"type":"A","data":{"x":1}}],"state":{"v":1}}`, events: 1, state: `{"v":1}`},
		{name: "events only", line: `{"events":[{"type":"A"},{"type":"B","data":null}]}`, events: 2},
		{name: "state null", line: `{"events":[],"state":null}`, state: `null`},
		{name: "no events", line: `{"events":[]}`},
		{name: "rejection", line: `{"error":"no"}`, rejected: "no"},
		{name: "rejection with empty events", line: `{"events":[],"error":"no"}`, rejected: "no"},
		{name: "neither", line: `{"state":1}`, err: `handler answered "handle" with neither "events" nor "error": "{\"state\":1}"`},
		{name: "events null", line: `{"events":null}`, err: `handler answered "handle" with neither "events" nor "error": "{\"events\":null}"`},
		{name: "both", line: `{"events":[{"type":"A"}],"error":"no"}`, err: `handler answered "handle" with both "events" and "error": "{\"events\":[{\"type\":\"A\"}],\"error\":\"no\"}"`},
		{name: "empty error", line: `{"error":""}`, err: `handler answered "handle" with an empty "error": "{\"error\":\"\"}"`},
		{name: "event without type", line: `{"events":[{"type":"A"},{"data":1}]}`, err: `handler answered "handle" with event 2 that has no "type": "{\"events\":[{\"type\":\"A\"},{\"data\":1}]}"`},
		{name: "not an object", line: `[1]`, err: `handler answered "handle" with something that is not a JSON object: "[1]"`},
		{name: "wrong type", line: `{"events":"A"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := HandleAnswerFrom([]byte(tt.line))
			if tt.err != "" || tt.name == "wrong type" {
				if !errors.Is(err, ErrBadAnswer) {
					t.Fatalf("err = %v, want ErrBadAnswer", err)
				}
				if tt.err != "" && err.Error() != tt.err {
					t.Fatalf("err = %q\nwant  %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.rejected != "" {
				if !a.Rejected() || *a.Error != tt.rejected {
					t.Fatalf("answer %+v, want rejection %q", a, tt.rejected)
				}
				return
			}
			if a.Rejected() || len(a.Events) != tt.events {
				t.Fatalf("answer %+v, want %d events", a, tt.events)
			}
			if tt.state == "" && a.State != nil {
				t.Fatalf("state %q, want absent", a.State)
			}
			if tt.state != "" && string(a.State) != tt.state {
				t.Fatalf("state %q, want %s", a.State, tt.state)
			}
			for _, ev := range a.Events {
				if ev.Data == nil {
					t.Fatalf("event %s has nil data, want null", ev.Type)
				}
			}
		})
	}
}

func TestStateAnswers(t *testing.T) {
	if a, err := ApplyAnswerFrom([]byte(`{"state":{"v":2}}`)); err != nil || string(a.State) != `{"v":2}` {
		t.Fatalf("apply: %+v, %v", a, err)
	}
	if a, err := ProjectAnswerFrom([]byte(`{"state":null}`)); err != nil || string(a.State) != `null` {
		t.Fatalf("project: %+v, %v", a, err)
	}
	a, err := ReactAnswerFrom([]byte(`{"state":1,"commands":[{"aggregate_type":"a"}]}`))
	if err != nil || string(a.State) != `1` || len(a.Commands) != 1 {
		t.Fatalf("react: %+v, %v", a, err)
	}
	if a, err := ReactAnswerFrom([]byte(`{"state":1}`)); err != nil || len(a.Commands) != 0 {
		t.Fatalf("react without commands: %+v, %v", a, err)
	}
	bad := []struct{ line, want string }{
		{`{}`, `handler answered "apply" without "state": "{}"`},
		{`{"error":"decode request: x"}`, `handler answered "apply" with an error: "decode request: x"`},
		{`1`, `handler answered "apply" with something that is not a JSON object: "1"`},
	}
	for _, b := range bad {
		_, err := ApplyAnswerFrom([]byte(b.line))
		if !errors.Is(err, ErrBadAnswer) || err.Error() != b.want {
			t.Errorf("ApplyAnswerFrom(%s) = %v\nwant %s", b.line, err, b.want)
		}
	}
	if _, err := ReactAnswerFrom([]byte(`{"state":1,"commands":[{},2]}`)); err == nil ||
		err.Error() != `handler answered "react" with command 2 that is not a JSON object: "{\"state\":1,\"commands\":[{},2]}"` {
		t.Errorf("react with a bad command: %v", err)
	}
}

func TestTypedCalls(t *testing.T) {
	// The handler echoes the request back inside the answer, so the test
	// sees what was sent.
	p := newProc(t, Config{
		Command: `while IFS= read -r l; do printf '{"state":%s,"events":[]}\n' "$l"; done`,
		Name:    `handler "echo"`,
	})
	ctx := context.Background()
	a, err := Apply(ctx, p, ApplyRequest{AggregateType: "counter", InstanceID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":"apply","aggregate_type":"counter","instance_id":"a","state":null,"events":[]}`
	if string(a.State) != want {
		t.Fatalf("sent %s\nwant %s", a.State, want)
	}
	h, err := Handle(ctx, p, HandleRequest{AggregateType: "counter", InstanceID: "a", Version: 2,
		State: record.RawMessage(`{"value":2}`), Command: record.RawMessage(`{"type":"Increment"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"op":"handle","aggregate_type":"counter","instance_id":"a","version":2,"state":{"value":2},"command":{"type":"Increment"},"context":{}}`
	if string(h.State) != want {
		t.Fatalf("sent %s\nwant %s", h.State, want)
	}
	// A shape error from a typed call names the handler.
	_, err = React(ctx, p, ReactRequest{Name: "pm", Records: []record.RawMessage{record.RawMessage(`{"x":1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	q := newProc(t, Config{Command: `while IFS= read -r l; do echo '{}'; done`, Name: `handler "empty"`, Timeout: 10 * time.Second})
	_, err = Project(ctx, q, ProjectRequest{Name: "totals"})
	if !errors.Is(err, ErrBadAnswer) || err.Error() != `handler "empty" answered "project" without "state": "{}"` {
		t.Fatalf("err = %v", err)
	}
}
