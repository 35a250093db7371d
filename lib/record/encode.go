package record

import (
	"bytes"
	"strconv"
)

// AppendRecord appends r as one compact JSON line (without the newline),
// embedding the event line as stored. It is the hot path of every program
// that prints records, so it avoids reflection.
func AppendRecord(dst []byte, r Record) []byte {
	dst = append(dst, `{"aggregate_type":`...)
	dst = AppendString(dst, r.AggregateType)
	dst = append(dst, `,"instance_id":`...)
	dst = AppendString(dst, r.InstanceID)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendUint(dst, r.Version, 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"hash":"`...)
	dst = append(dst, r.Hash...)
	dst = append(dst, `","event":`...)
	dst = append(dst, r.Event...)
	return append(dst, '}')
}

// AppendString appends s as a JSON string.
func AppendString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, err := Marshal(s)
	if err != nil {
		return append(dst, `""`...)
	}
	return append(dst, b...)
}

// AppendEvent appends ev as one compact event line (without the newline)
// in eventfold's key order. Data and Meta are copied as given, compacted
// when they hold insignificant space, and never HTML-escaped, so an event
// stores its payload as the handler wrote it.
func AppendEvent(dst []byte, ev Event) []byte {
	dst = append(dst, `{"type":`...)
	dst = AppendString(dst, ev.Type)
	dst = append(dst, `,"data":`...)
	if IsNull(ev.Data) {
		dst = append(dst, "null"...)
	} else {
		dst = AppendCompact(dst, ev.Data)
	}
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ev.Ts, 10)
	if ev.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = AppendString(dst, ev.ID)
	}
	if ev.Actor != "" {
		dst = append(dst, `,"actor":`...)
		dst = AppendString(dst, ev.Actor)
	}
	if len(ev.Meta) > 0 && !IsNull(ev.Meta) {
		dst = append(dst, `,"meta":`...)
		dst = AppendCompact(dst, ev.Meta)
	}
	return append(dst, '}')
}

// appendCompact appends the JSON value v without insignificant space. The
// caller has checked v is valid JSON.
func AppendCompact(dst []byte, v []byte) []byte {
	if bytes.IndexAny(v, " \t\r\n") < 0 {
		return append(dst, v...)
	}
	buf := bytes.NewBuffer(dst)
	if err := Compact(buf, v); err != nil {
		return append(dst, v...)
	}
	return buf.Bytes()
}
