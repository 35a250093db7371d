package pm

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/fold-es/fold/lib/record"
)

// The encoders here write by hand what record.Marshal would, field for
// field: they run once per record and per command, the hot path of a
// process manager, and the reflective encoder re-validates every raw value.

// appendReact appends a react request for records.
func appendReact(dst []byte, name string, state record.RawMessage, recs []record.Record) []byte {
	dst = append(dst, `{"op":"react","name":`...)
	dst = record.AppendString(dst, name)
	dst = append(dst, `,"state":`...)
	if record.IsNull(state) {
		dst = append(dst, "null"...)
	} else {
		dst = appendCompact(dst, state)
	}
	dst = append(dst, `,"records":[`...)
	for i, rec := range recs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = record.AppendRecord(dst, rec)
	}
	return append(dst, "]}"...)
}

// appendEnvelope appends env as record.Marshal encodes it.
func appendEnvelope(dst []byte, env record.Envelope) []byte {
	dst = append(dst, `{"aggregate_type":`...)
	dst = record.AppendString(dst, env.AggregateType)
	dst = append(dst, `,"instance_id":`...)
	dst = record.AppendString(dst, env.InstanceID)
	dst = append(dst, `,"command":`...)
	dst = appendCompact(dst, env.Command)
	dst = append(dst, `,"context":{`...)
	c := env.Context
	n := len(dst)
	field := func(key string) {
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(append(append(dst, '"'), key...), `":`...)
	}
	if c.Actor != "" {
		field("actor")
		dst = record.AppendString(dst, c.Actor)
	}
	if c.CorrelationID != "" {
		field("correlation_id")
		dst = record.AppendString(dst, c.CorrelationID)
	}
	if len(c.Metadata) > 0 {
		field("metadata")
		dst = append(dst, '{')
		for i, k := range slices.Sorted(mapKeys(c.Metadata)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = record.AppendString(dst, k)
			dst = append(dst, ':')
			dst = appendCompact(dst, c.Metadata[k])
		}
		dst = append(dst, '}')
	}
	if c.SourceDevice != "" {
		field("source_device")
		dst = record.AppendString(dst, c.SourceDevice)
	}
	dst = append(dst, '}')
	if env.CommandID != "" {
		dst = append(dst, `,"command_id":`...)
		dst = record.AppendString(dst, env.CommandID)
	}
	if env.ExpectedVersion != nil {
		dst = append(dst, `,"expected_version":`...)
		dst = strconv.AppendUint(dst, *env.ExpectedVersion, 10)
	}
	return append(dst, '}')
}

// appendCompact appends the valid JSON value v without insignificant space.
func appendCompact(dst []byte, v []byte) []byte {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return append(dst, v...)
	}
	buf := bytes.NewBuffer(dst)
	if err := record.Compact(buf, v); err != nil {
		return append(dst, v...)
	}
	return buf.Bytes()
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
