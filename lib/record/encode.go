package record

import (
	"bytes"
	"strconv"
	"unicode/utf8"
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
	dst = append(dst, `,"hash":`...)
	dst = AppendString(dst, r.Hash) // a hash read from a pipe may be anything
	dst = append(dst, `,"event":`...)
	dst = append(dst, r.Event...)
	return append(dst, '}')
}

// AppendString appends s as a JSON string, escaped as eventfold-es
// (serde_json) escapes it: only the quote, the backslash and the control
// characters, as \b \f \n \r \t or \u00xx. Everything else, U+2028 and
// U+2029 included (Go's encoder escapes them for JavaScript), is written as
// it is, so an event line fold writes is the line eventfold-es would. A
// byte that is not UTF-8 becomes U+FFFD: the parsers refuse such input, so
// only a string built in code can hold one.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || n > 1 {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
