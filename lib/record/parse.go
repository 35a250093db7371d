package record

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid marks input that is not what it should be: malformed JSON, a
// missing field, a field of the wrong type.
var ErrInvalid = errors.New("invalid input")

// InvalidError says why an input line was refused.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

// Unwrap lets callers test errors.Is(err, ErrInvalid).
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// EnvelopeDefaults fill what an input line leaves out.
type EnvelopeDefaults struct {
	Type string // used when aggregate_type is missing
	ID   string // used when instance_id is missing
	Bare bool   // each line is the command itself
}

// ParseEnvelope decodes one input line of fold-exec into an envelope,
// applying defaults. It checks shape, not path safety.
func ParseEnvelope(line []byte, d EnvelopeDefaults) (Envelope, error) {
	var env Envelope
	if !IsObject(line) {
		if !Valid(line) {
			return env, malformed(line)
		}
		return env, invalid("expected a JSON object, got %s", Excerpt(line, 40))
	}
	if err := CheckText(line); err != nil {
		return env, err
	}
	if d.Bare {
		if !Valid(line) {
			return env, malformed(line)
		}
		env.Command = RawMessage(append([]byte(nil), line...))
	} else if err := Unmarshal(line, &env); err != nil {
		return env, invalid("%s", decodeReason(line, err))
	}
	if env.AggregateType == "" {
		env.AggregateType = d.Type
	}
	if env.InstanceID == "" {
		env.InstanceID = d.ID
	}
	switch {
	case env.AggregateType == "":
		return env, invalid("missing aggregate_type (give it in the line or with --type)")
	case env.InstanceID == "":
		return env, invalid("missing instance_id (give it in the line or with --id)")
	case IsNull(env.Command):
		return env, invalid("missing command")
	case !IsObject(env.Command):
		return env, invalid("command must be a JSON object, got %s", truncate(string(env.Command), 40))
	}
	return env, nil
}

// ParseInject decodes one input line of fold-exec --inject. An event that
// has its data and ts is a whole event line: it comes back in ev.Line too,
// to be stored byte for byte.
func ParseInject(line []byte, d EnvelopeDefaults) (Inject, Event, error) {
	var in Inject
	var ev Event
	if !Valid(line) {
		return in, ev, malformed(line)
	}
	if !IsObject(line) {
		return in, ev, invalid("expected a JSON object, got %s", Excerpt(line, 40))
	}
	if err := CheckText(line); err != nil {
		return in, ev, err
	}
	if err := Unmarshal(line, &in); err != nil {
		return in, ev, invalid("%s", decodeReason(line, err))
	}
	if in.AggregateType == "" {
		in.AggregateType = d.Type
	}
	if in.InstanceID == "" {
		in.InstanceID = d.ID
	}
	switch {
	case in.AggregateType == "":
		return in, ev, invalid("missing aggregate_type (give it in the line or with --type)")
	case in.InstanceID == "":
		return in, ev, invalid("missing instance_id (give it in the line or with --id)")
	case IsNull(in.Event):
		return in, ev, invalid("missing event")
	}
	ev, err := ParseEvent(in.Event)
	if err != nil {
		return in, ev, err
	}
	if ev.Ts < 0 {
		return in, ev, invalid("event ts %d is negative: eventfold-es cannot read a stream holding it", ev.Ts)
	}
	var has struct {
		Data RawMessage `json:"data"`
		Ts   RawMessage `json:"ts"`
	}
	if Unmarshal(in.Event, &has) == nil && has.Data != nil && has.Ts != nil {
		ev.Line = in.Event // a whole event line: kept as it is
	}
	return in, ev, nil
}

// ParseEvent decodes an event line. A line must be a JSON object with a
// non-empty string type; data, ts, id, actor and meta are optional here.
func ParseEvent(line []byte) (Event, error) {
	var ev Event
	if !IsObject(line) {
		return ev, invalid("event is not a JSON object")
	}
	if err := Unmarshal(line, &ev); err != nil {
		return ev, invalid("%s", decodeReason(line, err))
	}
	if ev.Type == "" {
		return ev, invalid("event has no type")
	}
	return ev, nil
}

// ParseRecord decodes an event record as fold-watch prints it.
func ParseRecord(line []byte) (Record, error) {
	var r Record
	if !IsObject(line) {
		if !Valid(line) {
			return r, malformed(line)
		}
		return r, invalid("expected a JSON object, got %s", Excerpt(line, 40))
	}
	if err := CheckText(line); err != nil {
		return r, err
	}
	if err := Unmarshal(line, &r); err != nil {
		return r, invalid("%s", decodeReason(line, err))
	}
	switch {
	case r.AggregateType == "":
		return r, invalid("missing aggregate_type")
	case r.InstanceID == "":
		return r, invalid("missing instance_id")
	case r.Version == 0:
		return r, invalid("missing version (versions start at 1)")
	case IsNull(r.Event):
		return r, invalid("missing event")
	case !IsObject(r.Event):
		return r, invalid("event %s is not a JSON object", truncate(string(r.Event), 40))
	}
	return r, nil
}

// malformed says a line is not JSON, quoting it and the parser's reason.
func malformed(line []byte) error { return invalid("%s", malformedReason(line)) }

func malformedReason(line []byte) string {
	return fmt.Sprintf("malformed JSON %s: %s", Excerpt(line, 60), syntaxReason(line))
}

func decodeReason(line []byte, err error) string {
	if !Valid(line) {
		return malformedReason(line)
	}
	if reason := fieldTypeReason(line, ""); reason != "" {
		return reason
	}
	return "wrong field type: " + strings.TrimPrefix(err.Error(), "json: ")
}

// fieldKinds says what JSON each known field must hold, so a wrong type is
// reported as the field, its value and what it should be rather than as
// the decoder's view of Go types.
var fieldKinds = map[string]string{
	"aggregate_type": "a string", "instance_id": "a string", "command_id": "a string",
	"type": "a string", "id": "a string", "actor": "a string", "hash": "a string",
	"correlation_id": "a string", "source_device": "a string",
	"expected_version": "a non-negative integer", "version": "a non-negative integer",
	"offset": "a non-negative integer", "ts": "an integer",
	"context": "an object", "metadata": "an object", "command": "an object", "event": "an object",
}

// fieldTypeReason finds the first known field of the object in line whose
// value is of the wrong JSON type, looking into "context"; "" if none.
func fieldTypeReason(line []byte, prefix string) string {
	var fields map[string]RawMessage
	if Unmarshal(line, &fields) != nil {
		return ""
	}
	for _, name := range sortedKeys(fields) {
		v := fields[name]
		want, known := fieldKinds[name]
		if !known || IsNull(v) {
			continue
		}
		if !hasKind(v, want) {
			return fmt.Sprintf("%s%s %s is not %s", prefix, name, truncate(string(v), 40), want)
		}
		if name == "context" {
			if r := fieldTypeReason(v, "context."); r != "" {
				return r
			}
		}
	}
	return ""
}

func hasKind(v []byte, want string) bool {
	v = bytes.TrimSpace(v)
	switch want {
	case "a string":
		return v[0] == '"'
	case "an object":
		return v[0] == '{'
	case "an integer", "a non-negative integer":
		var n float64
		if Unmarshal(v, &n) != nil || n != float64(int64(n)) {
			return false
		}
		return want == "an integer" || n >= 0
	}
	return true
}

func sortedKeys(m map[string]RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// syntaxReason names the first thing wrong with a line that is not JSON.
func syntaxReason(line []byte) string {
	var v any
	err := Unmarshal(line, &v)
	if err == nil {
		return "trailing data after the JSON value"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// Excerpt quotes the first n bytes of a value an error is about, so a
// message names it without printing a whole line.
func Excerpt(b []byte, n int) string { return Quote(truncate(string(b), n)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// IsBlank reports whether an input line holds nothing but spaces, tabs and
// a carriage return: the programs skip such lines.
func IsBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
