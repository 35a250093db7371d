package record

import (
	"bytes"
	"errors"
	"testing"
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
