package handler

import (
	"bytes"

	"github.com/fold-es/fold/lib/record"
)

// plainHandleAnswer reads the usual handle answer, events with a plain
// type and the state after them, in one pass over the line (see
// record.Members), sharing its bytes. It reports false for anything else
// (a rejection, an escaped or misspelt key, a value of another type, a key
// given twice), which the decoder then reads and, if need be, explains.
// line must be valid JSON, as Call's answers are.
func plainHandleAnswer(line []byte) (HandleAnswer, bool) {
	var a HandleAnswer
	var seenEvents, seenState bool
	ok := record.Members(line, func(key, val []byte) bool {
		switch {
		case string(key) == "events" && !seenEvents:
			seenEvents = true
			a.Events = make([]EventOut, 0, 1)
			return record.Elements(val, func(ev []byte) bool {
				out, ok := plainEvent(ev)
				a.Events = append(a.Events, out)
				return ok
			})
		case string(key) == "state" && !seenState && !record.IsNull(val):
			seenState = true
			a.State = val
			return true
		}
		return !oneOf(key, "events", "state", "error")
	})
	if !ok || !seenEvents {
		return HandleAnswer{}, false
	}
	return a, true
}

// plainEvent reads an event of a handle answer with a plain, non-empty
// type.
func plainEvent(ev []byte) (EventOut, bool) {
	var out EventOut
	var seenType bool
	ok := record.Members(ev, func(key, val []byte) bool {
		switch {
		case string(key) == "type" && !seenType:
			seenType = true
			t, ok := record.PlainString(val)
			out.Type = t
			return ok && t != ""
		case string(key) == "data" && out.Data == nil:
			out.Data = val
			return true
		}
		return !oneOf(key, "type", "data")
	})
	if out.Data == nil {
		out.Data = record.Null
	}
	return out, ok && seenType
}

// oneOf reports whether key names one of the fields, as the decoder
// matches them: without regard to case.
func oneOf(key []byte, fields ...string) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return true
		}
	}
	return false
}

// plainStateAnswer reads an answer that holds a state and nothing else
// stateAnswer has (commands, an error), as plainHandleAnswer does.
func plainStateAnswer(line []byte) (record.RawMessage, bool) {
	var st record.RawMessage
	ok := record.Members(line, func(key, val []byte) bool {
		if string(key) == "state" && st == nil && !record.IsNull(val) {
			st = val
			return true
		}
		return !oneOf(key, "state", "commands", "error")
	})
	return st, ok && st != nil
}
