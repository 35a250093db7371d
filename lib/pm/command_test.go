package pm

import (
	"errors"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

func TestCommandIDIsDeterministicAndUnambiguous(t *testing.T) {
	src := record.StreamID{Type: "order", ID: "o-1"}
	id := CommandID("fulfil", src, 3, 1)
	if id != "fold-pm:fulfil/order/o-1/3/1" {
		t.Fatalf("CommandID = %q", id)
	}
	if again := CommandID("fulfil", src, 3, 1); again != id {
		t.Fatalf("not deterministic: %q then %q", id, again)
	}
	// Each part of the origin changes the id; names and ids with ":" or
	// digits cannot make two origins collide, since no part holds "/".
	seen := map[string]string{id: "base"}
	for what, other := range map[string]string{
		"name":    CommandID("ship", src, 3, 1),
		"type":    CommandID("fulfil", record.StreamID{Type: "orders", ID: "o-1"}, 3, 1),
		"id":      CommandID("fulfil", record.StreamID{Type: "order", ID: "o-2"}, 3, 1),
		"version": CommandID("fulfil", src, 4, 1),
		"index":   CommandID("fulfil", src, 3, 0),
		"colons":  CommandID("fulfil:order", record.StreamID{Type: "o-1", ID: "3"}, 3, 1),
		"digits":  CommandID("fulfil", record.StreamID{Type: "order", ID: "o-1/3"}, 1, 1),
	} {
		if prev, dup := seen[other]; dup {
			t.Errorf("%s gives the same id as %s: %q", what, prev, other)
		}
		seen[other] = what
	}
}

func source(event string) record.Record {
	return record.Record{AggregateType: "order", InstanceID: "o-1", Version: 2, Offset: 200, Hash: "h", Event: record.RawMessage(event)}
}

func TestPrepareCarriesContext(t *testing.T) {
	withCorr := source(`{"type":"Placed","data":null,"ts":1,"actor":"alice","meta":{"correlation_id":"c-9","source_device":"phone"}}`)
	noMeta := source(`{"type":"Placed","data":null,"ts":1}`)
	tests := []struct {
		name      string
		src       record.Record
		cmd       string
		wantActor string
		wantCorr  string
		wantMeta  string // a metadata value that must survive
	}{
		{"defaults", withCorr, `{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"}}`, "fold-pm:fulfil", "c-9", ""},
		{"own actor and correlation", withCorr, `{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"},"context":{"actor":"bob","correlation_id":"mine","metadata":{"k":"v"}}}`, "bob", "mine", `"v"`},
		{"source without meta", noMeta, `{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"}}`, "fold-pm:fulfil", "", ""},
		{"handler's command_id replaced", withCorr, `{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"},"command_id":"random-123"}`, "fold-pm:fulfil", "c-9", ""},
		{"non-string correlation ignored", source(`{"type":"Placed","data":null,"ts":1,"meta":{"correlation_id":7}}`), `{"aggregate_type":"inventory","instance_id":"w","command":{}}`, "fold-pm:fulfil", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Prepare("fulfil", tt.src, 1, record.RawMessage(tt.cmd))
			if err != nil {
				t.Fatal(err)
			}
			e := c.Envelope
			if e.CommandID != "fold-pm:fulfil/order/o-1/2/1" {
				t.Errorf("command_id = %q", e.CommandID)
			}
			if e.Context.Actor != tt.wantActor || e.Context.CorrelationID != tt.wantCorr {
				t.Errorf("context = %+v, want actor %q correlation %q", e.Context, tt.wantActor, tt.wantCorr)
			}
			if tt.wantMeta != "" && string(e.Context.Metadata["k"]) != tt.wantMeta {
				t.Errorf("metadata = %v", e.Context.Metadata)
			}
			// The line is the envelope, as fold-exec parses it.
			back, err := record.ParseEnvelope(c.Line, record.EnvelopeDefaults{})
			if err != nil || back.CommandID != e.CommandID || back.Context.Actor != e.Context.Actor {
				t.Errorf("line %s parses as %+v, %v", c.Line, back, err)
			}
			if c.Origin != (Origin{Stream: tt.src.Stream(), Version: 2, Index: 1}) {
				t.Errorf("origin = %+v", c.Origin)
			}
		})
	}
}

func TestPrepareRefusesWhatCannotBeSent(t *testing.T) {
	for cmd, want := range map[string]string{
		`{"instance_id":"w","command":{}}`:                                 "missing aggregate_type",
		`{"aggregate_type":"inventory","command":{}}`:                      "missing instance_id",
		`{"aggregate_type":"inventory","instance_id":"w"}`:                 "missing command",
		`{"aggregate_type":"inventory","instance_id":"w","command":"x"}`:   "command must be a JSON object",
		`{"aggregate_type":"inventory","instance_id":"../w","command":{}}`: "not a single path segment",
	} {
		_, err := Prepare("fulfil", source(`{"type":"Placed","data":null,"ts":1}`), 0, record.RawMessage(cmd))
		var ce *CommandError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cmd, err, want)
			continue
		}
		if !strings.Contains(err.Error(), `"order/o-1" version 2, command 0`) {
			t.Errorf("error does not name its origin: %v", err)
		}
	}
}

// The hand-written encoders give what the reflective one does (except
// that they keep <, > and & in raw values as written, where Marshal
// escapes them).
func TestEncodersMatchMarshal(t *testing.T) {
	v := uint64(3)
	envs := []record.Envelope{
		{AggregateType: "inventory", InstanceID: "w", Command: record.RawMessage(`{"type":"Reserve"}`)},
		{AggregateType: "in\"v", InstanceID: "é\n", Command: record.RawMessage(`{"type": "Reserve", "data": {"a": [1, 2]}}`),
			Context: record.Context{Actor: "a", CorrelationID: "c", SourceDevice: "d",
				Metadata: map[string]record.RawMessage{"z": record.RawMessage(`1`), "a": record.RawMessage(`{"x": "y"}`)}},
			CommandID: "fold-pm:x/y/z/1/0", ExpectedVersion: &v},
		{AggregateType: "t", InstanceID: "i", Command: record.RawMessage(`{}`), Context: record.Context{Metadata: map[string]record.RawMessage{"k": record.RawMessage(`"v"`)}}},
	}
	for _, env := range envs {
		want, err := record.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEnvelope(nil, env); string(got) != string(want) {
			t.Errorf("appendEnvelope:\n%s\nMarshal:\n%s", got, want)
		}
	}
	rec := source(`{"type":"Placed","data":{"a":1},"ts":1}`)
	for _, state := range []record.RawMessage{nil, record.Null, record.RawMessage(`{"n": 1}`)} {
		want, err := record.Marshal(struct {
			Op      string              `json:"op"`
			Name    string              `json:"name"`
			State   record.RawMessage   `json:"state"`
			Records []record.RawMessage `json:"records"`
		}{"react", "ful\"fil", orNull(state), []record.RawMessage{record.AppendRecord(nil, rec)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendReact(nil, "ful\"fil", state, []record.Record{rec}); string(got) != string(want) {
			t.Errorf("appendReact:\n%s\nMarshal:\n%s", got, want)
		}
	}
}

func orNull(m record.RawMessage) record.RawMessage {
	if m == nil {
		return record.Null
	}
	return m
}
