package record

import "strconv"

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
