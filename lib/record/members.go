package record

import (
	"bytes"
	"unicode/utf8"
)

// The decoder is general, and slow for the few shapes on every command's
// path (an envelope, a handler's answer, an event line): about a
// microsecond each. Members and Elements walk a JSON value that is already
// known to be valid and hand over the raw bytes of its parts, so a caller
// can pick out what it needs in one pass, without copies, and leave every
// case it does not handle (an escaped key, a field of the wrong type) to
// the decoder, which also says what is wrong.

// Members calls fn with the key and the raw value of each member of the
// JSON object obj, in order, until fn returns false. obj must be valid
// JSON. It returns false when obj is not an object, when a key holds an
// escape (the key fn would see is not the key), or when fn returned false.
func Members(obj []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		end := skipString(obj, i)
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // the colon
		end = skipValue(obj, i)
		if !fn(key, obj[i:end]) {
			return false
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] == '}' {
			return true
		}
		i = skipSpace(obj, i+1) // the comma
	}
	return true
}

// Elements calls fn with each element of the JSON array arr, raw, until fn
// returns false. arr must be valid JSON. It returns false when arr is not
// an array or fn returned false.
func Elements(arr []byte, fn func(val []byte) bool) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		end := skipValue(arr, i)
		if !fn(arr[i:end]) {
			return false
		}
		i = skipSpace(arr, end)
		if i >= len(arr) || arr[i] == ']' {
			return true
		}
		i = skipSpace(arr, i+1)
	}
	return true
}

// PlainString returns the text of the raw JSON string v when it holds no
// escape and is UTF-8 (the decoder would put U+FFFD for a bad byte), and
// whether it is such a string.
func PlainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
