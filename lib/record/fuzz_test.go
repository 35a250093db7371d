package record

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// The parsers of what fold reads from disk and pipes, fuzzed. Each target
// checks a property, not just that nothing panics: a refusal is an
// ErrInvalid with a reason, and what is accepted re-encodes to something
// that parses the same. `make fuzz` runs them; `go test` runs their seeds.

// checkRefusal fails t unless err is a refusal with a reason.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) || err.Error() == "" {
		t.Fatalf("refusal %v is not ErrInvalid with a reason", err)
	}
}

func FuzzParseSnapshot(f *testing.F) {
	f.Add([]byte(`{"state":{"value":3},"offset":312,"hash":"9f0c1d2e3f405162","version":3}`))
	f.Add([]byte("{\n  \"state\": {\n    \"value\": 1\n  },\n  \"offset\": 360,\n  \"hash\": \"677b532c51340ee9\"\n}"))
	f.Add([]byte(`{"state":null,"offset":0,"hash":""}`))
	f.Add([]byte(`{"state":{"value":99},"offset":0,"hash":"x","version":99}`))
	f.Add([]byte(`{"state":{"value":99},"offset":-5,"hash":"0000000000000000","version":1}`))
	f.Add([]byte(`{"state":"é\u2028","offset":1e3,"hash":"0000000000000000","version":18446744073709551615}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSnapshot(data)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if err := s.Check(); err != nil || s.Offset < 0 || !Valid(s.State) {
			t.Fatalf("accepted %+v: %v", s, err)
		}
		b, err := MarshalIndent(s)
		if err != nil {
			t.Fatalf("accepted snapshot does not encode: %v", err)
		}
		again, err := ParseSnapshot(b)
		if err != nil || again.Offset != s.Offset || again.Hash != s.Hash || !bytes.Equal(again.State, s.State) ||
			(again.Version == nil) != (s.Version == nil) || (s.Version != nil && *again.Version != *s.Version) {
			t.Fatalf("%s re-encodes as %s, which parses as %+v, %v", data, b, again, err)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"aggregate_type":"counter","instance_id":"alpha","version":3,"offset":312,"hash":"9f0c1d2e3f405162","event":{"type":"Incremented","data":null,"ts":1764446400,"id":"e"}}`))
	f.Add([]byte(`{"aggregate_type":"counter","instance_id":"a","version":1,"offset":9,"hash":"h","event":"Incremented"}`))
	f.Add([]byte("{\"aggregate_type\":\"c\",\"instance_id\":\"a\xffb\",\"version\":1,\"offset\":9,\"hash\":\"h\",\"event\":{\"type\":\"X\"}}"))
	f.Add([]byte(`{"aggregate_type":"c","instance_id":"a\ud800","version":1,"offset":9,"hash":"h","event":{ "type" : "X\u2028" }}`))
	f.Add([]byte(`{"aggregate_type":"c","instance_id":"a","version":0,"event":{}}`))
	f.Add([]byte(`{"aggregate_type":"c","instance_id":"a","version":2,"offset":1,"hash":"a\"b\\","event":{"type":"X"}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if r.AggregateType == "" || r.InstanceID == "" || r.Version == 0 || !IsObject(r.Event) || !Valid(r.Event) || CheckText(r.Event) != nil {
			t.Fatalf("accepted a record without its fields: %+v", r)
		}
		b := AppendRecord(nil, r)
		again, err := ParseRecord(b)
		if err != nil || again.AggregateType != r.AggregateType || again.InstanceID != r.InstanceID || again.Version != r.Version ||
			again.Offset != r.Offset || again.Hash != r.Hash || !bytes.Equal(again.Event, r.Event) {
			t.Fatalf("%q re-encodes as %q, which parses as %+v, %v", line, b, again, err)
		}
	})
}

func FuzzParseInject(f *testing.F) {
	f.Add([]byte(`{"aggregate_type":"counter","instance_id":"alpha","event":{"type":"Incremented","data":null,"ts":1764446400,"id":"e","actor":"a\u2028","meta":{"k":1}}}`))
	f.Add([]byte(`{"aggregate_type":"counter","instance_id":"a","version":1,"offset":9,"hash":"h","event":{"type":"X","data":{"a": [1, 2]},"ts":7}}`))
	f.Add([]byte(`{"event":{"type":"X"}}`))
	f.Add([]byte(`{"aggregate_type":"c","instance_id":"a","event":{"type":"X","data":null,"ts":-1}}`))
	f.Add([]byte(`{"aggregate_type":"c","instance_id":"a","event":{"type":"","ts":1.5}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		in, ev, err := ParseInject(line, EnvelopeDefaults{Type: "t", ID: "i"})
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if in.AggregateType == "" || in.InstanceID == "" || ev.Type == "" || ev.Ts < 0 {
			t.Fatalf("accepted an injected event without its fields: %+v %+v", in, ev)
		}
		if ev.Line != nil && (!bytes.Equal(ev.Line, in.Event) || CheckText(ev.Line) != nil) {
			t.Fatalf("a whole line kept as %q, not as read (%q)", ev.Line, in.Event)
		}
		// What is stored parses back as the same event.
		stored := ev.Line
		if stored == nil {
			stored = AppendEvent(nil, ev)
		}
		back, err := ParseEvent(stored)
		if err != nil || back.Type != ev.Type || back.Ts != ev.Ts || back.ID != ev.ID || back.Actor != ev.Actor {
			t.Fatalf("stored %q parses as %+v, %v; want %+v", stored, back, err, ev)
		}
		// And the injection, re-encoded, parses the same.
		b, err := Marshal(in)
		if err != nil {
			t.Fatalf("accepted injection does not encode: %v", err)
		}
		in2, ev2, err := ParseInject(b, EnvelopeDefaults{})
		if err != nil || in2.AggregateType != in.AggregateType || in2.InstanceID != in.InstanceID ||
			ev2.Type != ev.Type || ev2.ID != ev.ID || ev2.Ts != ev.Ts || (ev2.Line == nil) != (ev.Line == nil) {
			t.Fatalf("%q re-encodes as %q, which parses as %+v %+v, %v", line, b, in2, ev2, err)
		}
	})
}

// FuzzScanLines: whatever the input and the limit, ScanLines numbers the
// lines as bytes.Split does, hands over each non-blank line within the
// limit exactly, and each line over it as a TooLongError of its length.
func FuzzScanLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\n  \nccc"), 2)
	f.Add([]byte(strings.Repeat("x", 70000)+"\nend\n"), 100)
	f.Add([]byte("\r\n\r"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<20 {
			return
		}
		want := bytes.Split(data, []byte{'\n'})
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1]
		}
		var got int64
		err := ScanLines(iotest.OneByteReader(bytes.NewReader(data)), max, func(n int64, line []byte, err error) bool {
			if n < 1 || n > int64(len(want)) || n <= got {
				t.Fatalf("line %d of %d after %d", n, len(want), got)
			}
			got = n
			w := bytes.TrimSuffix(want[n-1], []byte{'\r'})
			var tl *TooLongError
			switch {
			case err == nil && !bytes.Equal(line, w):
				t.Fatalf("line %d: %q, want %q", n, line, w)
			case err == nil && len(w) > max:
				t.Fatalf("line %d: %d bytes passed over the %d limit", n, len(w), max)
			case err != nil && (!errors.As(err, &tl) || tl.Size != int64(len(w)) || len(w) <= max || !bytes.HasPrefix(w, line)):
				t.Fatalf("line %d (%d bytes, limit %d): %v with %q", n, len(w), max, err, line)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
