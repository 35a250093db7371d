package pm

import (
	"maps"
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
		dst = record.AppendCompact(dst, state)
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
	dst = record.AppendCompact(dst, env.Command)
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
		for i, k := range slices.Sorted(maps.Keys(c.Metadata)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = record.AppendString(dst, k)
			dst = append(dst, ':')
			dst = record.AppendCompact(dst, c.Metadata[k])
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
