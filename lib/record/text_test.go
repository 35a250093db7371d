package record

import (
	"errors"
	"strings"
	"testing"
)

// TestInvalidTextRefused: a byte that is not UTF-8, or an escaped lone
// surrogate, is refused by every line parser, naming the member; the
// decoder would have made it U+FFFD and so named another stream.
func TestInvalidTextRefused(t *testing.T) {
	parsers := map[string]func(string) error{
		"envelope": func(l string) error { _, err := ParseEnvelope([]byte(l), EnvelopeDefaults{}); return err },
		"inject":   func(l string) error { _, _, err := ParseInject([]byte(l), EnvelopeDefaults{}); return err },
		"record":   func(l string) error { _, err := ParseRecord([]byte(l)); return err },
	}
	tests := []struct{ name, line, want string }{
		{"id not UTF-8", "{\"aggregate_type\":\"counter\",\"instance_id\":\"a\xffb\",\"command\":{},\"version\":1,\"offset\":9,\"hash\":\"h\",\"event\":{\"type\":\"X\"}}", `instance_id "a\xffb" is not UTF-8`},
		{"type not UTF-8", "{\"aggregate_type\":\"c\xc3\",\"instance_id\":\"a\",\"command\":{},\"version\":1,\"offset\":9,\"hash\":\"h\",\"event\":{\"type\":\"X\"}}", `aggregate_type "c\xc3" is not UTF-8`},
		{"lone surrogate in id", `{"aggregate_type":"counter","instance_id":"a\ud800b","command":{},"version":1,"offset":9,"hash":"h","event":{"type":"X"}}`, `\ud800 is a lone surrogate`},
		{"lone low surrogate", `{"aggregate_type":"counter","instance_id":"a\uDC00","command":{},"version":1,"offset":9,"hash":"h","event":{"type":"X"}}`, `\uDC00 is a lone surrogate`},
		{"payload not UTF-8", "{\"aggregate_type\":\"counter\",\"instance_id\":\"a\",\"command\":{\"x\":\"\xfe\"},\"version\":1,\"offset\":9,\"hash\":\"h\",\"event\":{\"type\":\"X\",\"data\":\"\xfe\"}}", `is not UTF-8`},
	}
	for _, tt := range tests {
		for name, parse := range parsers {
			err := parse(tt.line)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s, %s: %v; want %q", tt.name, name, err, tt.want)
			}
		}
	}
	// A pair is a character, and so is U+FFFD spelled out.
	for _, ok := range []string{`"a\ud83d\ude00b"`, `"\ufffd"`, "\"\uFFFD\"", `"\\ud800"`} {
		line := `{"aggregate_type":"counter","instance_id":` + ok + `,"command":{}}`
		if _, err := ParseEnvelope([]byte(line), EnvelopeDefaults{}); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
}

// TestAppendStringAsEventfold: strings are escaped as serde_json escapes
// them, so a line fold writes is byte for byte the one eventfold-es would.
func TestAppendStringAsEventfold(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              `"plain"`,
		"q\"b\\":             `"q\"b\\"`,
		"\b\f\n\r\t\x01\x1f": `"\b\f\n\r\t\u0001\u001f"`,
		"ls\u2028ps\u2029":   "\"ls\u2028ps\u2029\"",
		"é<&>/\x7f":          "\"é<&>/\x7f\"",
		"bad\xffbyte":        "\"bad\uFFFDbyte\"",
	} {
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := Unmarshal(AppendString(nil, in), &back); err != nil || (back != in && in != "bad\xffbyte") {
			t.Errorf("AppendString(%q) decodes as %q, %v", in, back, err)
		}
	}
}
