package record

import (
	"bytes"

	json "github.com/goccy/go-json"
)

// Marshal encodes v as compact JSON without HTML escaping, so that text in
// events is stored as written.
func Marshal(v any) ([]byte, error) {
	// goccy's MarshalNoEscape is about heap escape, not HTML: it still
	// writes < as \u003c.
	return json.MarshalWithOption(v, json.DisableHTMLEscape())
}

// MarshalIndent encodes v with a two-space indent, the layout eventfold-es
// uses for snapshots and checkpoints.
func MarshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Unmarshal decodes data into v.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v)
}

// Valid reports whether data is one well-formed JSON value.
func Valid(data []byte) bool {
	return json.Valid(data)
}

// Compact appends data, with insignificant space removed, to dst.
func Compact(dst *bytes.Buffer, data []byte) error {
	return json.Compact(dst, data)
}

// CompactState returns a state as it is handed on: one line, and null
// when absent (eventfold-es pretty-prints the states it saves).
func CompactState(state RawMessage) (RawMessage, error) {
	if state == nil {
		return Null, nil
	}
	var buf bytes.Buffer
	if err := Compact(&buf, state); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// IsObject reports whether data, after leading space, starts a JSON object.
func IsObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// IsNull reports whether data is absent or the JSON literal null.
func IsNull(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) == 0 || string(data) == "null"
}
