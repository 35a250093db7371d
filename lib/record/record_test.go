package record

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name, line string
		d          EnvelopeDefaults
		want       string // error substring; "" for success
	}{
		{"full", `{"aggregate_type":"counter","instance_id":"a","command":{"type":"Increment"}}`, EnvelopeDefaults{}, ""},
		{"defaults", `{"command":{"type":"Increment"}}`, EnvelopeDefaults{Type: "counter", ID: "a"}, ""},
		{"bare", `{"type":"Increment"}`, EnvelopeDefaults{Type: "counter", ID: "a", Bare: true}, ""},
		{"malformed", `{"aggregate_type":`, EnvelopeDefaults{}, "malformed JSON"},
		{"not object", `[1,2]`, EnvelopeDefaults{}, "expected a JSON object"},
		{"no type", `{"instance_id":"a","command":{}}`, EnvelopeDefaults{}, "missing aggregate_type"},
		{"no id", `{"aggregate_type":"c","command":{}}`, EnvelopeDefaults{}, "missing instance_id"},
		{"no command", `{"aggregate_type":"c","instance_id":"a"}`, EnvelopeDefaults{}, "missing command"},
		{"command not object", `{"aggregate_type":"c","instance_id":"a","command":"Inc"}`, EnvelopeDefaults{}, "command must be a JSON object"},
		{"wrong field type", `{"aggregate_type":1,"instance_id":"a","command":{}}`, EnvelopeDefaults{}, "aggregate_type 1 is not a string"},
		{"negative expected_version", `{"aggregate_type":"c","instance_id":"a","command":{},"expected_version":-1}`, EnvelopeDefaults{}, "expected_version -1 is not a non-negative integer"},
		{"string expected_version", `{"aggregate_type":"c","instance_id":"a","command":{},"expected_version":"three"}`, EnvelopeDefaults{}, `expected_version "three" is not a non-negative integer`},
		{"bad context actor", `{"aggregate_type":"c","instance_id":"a","command":{},"context":{"actor":7}}`, EnvelopeDefaults{}, "context.actor 7 is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.line), tt.d)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if env.AggregateType != "counter" || env.InstanceID != "a" || !strings.Contains(string(env.Command), "Increment") {
					t.Errorf("env = %+v", env)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEventKeyOrderAndOmission(t *testing.T) {
	b, err := Marshal(Event{Type: "Incremented", Data: Null, Ts: 1764446400})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"type":"Incremented","data":null,"ts":1764446400}` {
		t.Errorf("got %s", b)
	}
	if a := AppendEvent(nil, Event{Type: "Incremented", Ts: 1764446400}); string(a) != string(b) {
		t.Errorf("AppendEvent = %s, Marshal = %s", a, b)
	}
	b = AppendEvent(nil, Event{Type: "X", Data: RawMessage(`{"a": "<b>"}`), Ts: 1, ID: "i", Actor: "a", Meta: RawMessage(`{"k":1}`)})
	if string(b) != `{"type":"X","data":{"a":"<b>"},"ts":1,"id":"i","actor":"a","meta":{"k":1}}` {
		t.Errorf("got %s", b)
	}
}

func TestAppendRecordIsValidJSON(t *testing.T) {
	r := Record{AggregateType: "c\"x", InstanceID: "é/\n", Version: 3, Offset: 312, Hash: "9f0c", Event: RawMessage(`{"type":"A","data":null,"ts":1}`)}
	b := AppendRecord(nil, r)
	got, err := ParseRecord(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.AggregateType != r.AggregateType || got.InstanceID != r.InstanceID || got.Version != 3 || got.Offset != 312 || string(got.Event) != string(r.Event) {
		t.Errorf("round trip: %+v", got)
	}
}

func TestHash(t *testing.T) {
	// From the eventfold-es fixture: gamma's last line and its snapshot hash.
	line := `{"type":"Decremented","data":null,"ts":1795984831,"id":"bd9ca10f-ff53-4294-844f-c53d7b68f69a","actor":"rust-compat"}`
	if h := Hash([]byte(line)); h != "08854f3260da89f7" {
		t.Errorf("hash = %s", h)
	}
	if h := Hash(nil); len(h) != 16 {
		t.Errorf("hash of empty = %q", h)
	}
}

func TestInputValue(t *testing.T) {
	if v := InputValue([]byte(`{"a":1}`)); string(v) != `{"a":1}` {
		t.Errorf("json line: %s", v)
	}
	if v := InputValue([]byte(`oops "x"`)); string(v) != `"oops \"x\""` {
		t.Errorf("non-json line: %s", v)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"aggregate_type":"counter","instance_id":"a","command":{"type":"Increment"},"context":{"actor":"x","metadata":{"k":"v"}},"expected_version":3}`))
	f.Add([]byte(`{"command":{}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, line []byte) {
		env, err := ParseEnvelope(line, EnvelopeDefaults{Type: "t", ID: "i"})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		if env.AggregateType == "" || env.InstanceID == "" || !IsObject(env.Command) || !Valid(env.Command) {
			t.Fatalf("accepted an envelope without its fields: %+v", env)
		}
		if _, err := Marshal(env); err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"type":"A","data":null,"ts":1}`))
	f.Add([]byte(`{"type":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := ParseEvent(line)
		if err == nil && ev.Type == "" {
			t.Fatal("accepted an event without a type")
		}
	})
}

// TestMarshalKeepsHTML: text is stored as written, ASCII or not: no
// \u003c for <, whichever encoder path a string takes.
func TestMarshalKeepsHTML(t *testing.T) {
	b, err := Marshal(map[string]string{"e": "a<b & é>"})
	if err != nil || string(b) != `{"e":"a<b & é>"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if got := string(AppendString(nil, "é<b>")); got != `"é<b>"` {
		t.Errorf("AppendString = %s", got)
	}
}

func TestParseRecordEventMustBeAnObject(t *testing.T) {
	for _, ev := range []string{`"Incremented"`, `5`, `[{"type":"X"}]`, `true`} {
		line := `{"aggregate_type":"counter","instance_id":"a","version":1,"offset":9,"hash":"0000000000000000","event":` + ev + `}`
		_, err := ParseRecord([]byte(line))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "event "+ev+" is not a JSON object") {
			t.Errorf("event %s: %v", ev, err)
		}
	}
}

func TestParseInject(t *testing.T) {
	whole := "{\"type\":\"T\u2028\",\"data\":{\"k\": 1},\"ts\":7,\"id\":\"e\\u0031\",\"actor\":\"a\u2029\"}"
	in, ev, err := ParseInject([]byte(`{"aggregate_type":"c","instance_id":"a","event":`+whole+`}`), EnvelopeDefaults{})
	if err != nil || in.InstanceID != "a" || ev.ID != "e1" || string(ev.Line) != whole {
		t.Errorf("a whole event: %+v, %+v, %v; want its line kept as %s", in, ev, err, whole)
	}
	// Without ts (or data) it is not a whole line: it is encoded again.
	_, ev, err = ParseInject([]byte(`{"aggregate_type":"c","instance_id":"a","event":{"type":"T","data":null}}`), EnvelopeDefaults{})
	if err != nil || ev.Line != nil || ev.Type != "T" {
		t.Errorf("an event without ts: %+v, %v", ev, err)
	}
	_, _, err = ParseInject([]byte(`{"aggregate_type":"c","instance_id":"a","event":{"type":"T","data":null,"ts":-1}}`), EnvelopeDefaults{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "event ts -1 is negative") {
		t.Errorf("negative ts: %v", err)
	}
}
