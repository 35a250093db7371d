package record

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSnapshot(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // error substring; "" for success
	}{
		{"fold", `{"state":{"value":3},"offset":312,"hash":"9f0c1d2e3f405162","version":3}`, ""},
		{"eventfold-es, pretty, no version", "{\n  \"state\": {\n    \"value\": 1\n  },\n  \"offset\": 360,\n  \"hash\": \"677b532c51340ee9\"\n}", ""},
		{"empty log", `{"state":null,"offset":0,"hash":""}`, ""},
		{"empty log with version 0", `{"state":null,"offset":0,"hash":"","version":0}`, ""},
		{"offset 0 with a hash", `{"state":{"value":99},"offset":0,"hash":"x","version":99}`, `hash "x" at offset 0`},
		{"offset 0 with a version", `{"state":{"value":99},"offset":0,"hash":"","version":99}`, "version 99 at offset 0"},
		{"negative offset", `{"state":{"value":99},"offset":-5,"hash":"0000000000000000"}`, "offset -5 is negative"},
		{"hash not hex", `{"state":1,"offset":10,"hash":"zz00000000000000"}`, `hash "zz00000000000000" is not 16 lowercase hex digits`},
		{"hash too short", `{"state":1,"offset":10,"hash":"abc"}`, `hash "abc" is not 16`},
		{"version 0 past the start", `{"state":1,"offset":10,"hash":"0000000000000000","version":0}`, "version 0 cannot end at offset 10"},
		{"more versions than bytes", `{"state":1,"offset":10,"hash":"0000000000000000","version":11}`, "version 11 cannot end at offset 10"},
		{"negative version", `{"state":1,"offset":10,"hash":"0000000000000000","version":-1}`, "version -1 is not a non-negative integer"},
		{"offset a string", `{"state":1,"offset":"10","hash":"0000000000000000"}`, `offset "10" is not a non-negative integer`},
		{"no state", `{"offset":0,"hash":""}`, "missing state"},
		{"no offset", `{"state":1,"hash":""}`, "missing offset"},
		{"no hash", `{"state":1,"offset":0}`, "missing hash"},
		{"not an object", `[1]`, "expected a JSON object"},
		{"not JSON", `{"state":`, "malformed JSON"},
		{"empty", ``, "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSnapshot([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.ContainsAny(string(s.State), " \n") {
					t.Errorf("state %q not compacted", s.State)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
