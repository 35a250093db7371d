package checkpoint

import (
	"bytes"

	"github.com/fold-es/fold/lib/record"
)

// A checkpoint of 100,000 streams is 8 MB of cursors, and decoding them
// through reflection was a tenth of a no-op catch-up. splitCursors reads
// the "cursors" object of the common shape (ASCII names, no escapes, an
// offset of plain digits and a hash) by hand and hands the rest of the
// file, with "cursors":{} in its place, to the JSON decoder, which checks
// and reads it as before. Anything else (a name with escapes or beyond
// ASCII, a negative or fractional offset, another field, a duplicate key,
// text that is not JSON) is not split, and the decoder reads the whole
// file: its errors are the ones reported.

// splitCursors returns the cursors and the file with an empty object in
// their place; ok is false when the file is not of the common shape.
func splitCursors(data []byte) (cursors map[string]record.Cursor, rest []byte, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, nil, false
	}
	i++
	start, end := -1, -1
	for {
		i = skipSpace(data, i)
		if i < len(data) && data[i] == '}' && start < 0 && end < 0 {
			break // {} or a last member
		}
		key, j, ok := plainString(data, i)
		if !ok {
			return nil, nil, false
		}
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(data, i+1)
		if string(key) == "cursors" {
			if start >= 0 {
				return nil, nil, false // twice: the decoder says what counts
			}
			if cursors, j, ok = readCursors(data, i); !ok {
				return nil, nil, false
			}
			start, end = i, j
		} else if j, ok = skipValue(data, i); !ok {
			return nil, nil, false
		}
		i = skipSpace(data, j)
		if i < len(data) && data[i] == ',' {
			i++
			continue
		}
		if i >= len(data) || data[i] != '}' {
			return nil, nil, false
		}
		break
	}
	if skipSpace(data, i+1) != len(data) || start < 0 {
		return nil, nil, false
	}
	rest = make([]byte, 0, len(data)-(end-start)+2)
	rest = append(append(append(rest, data[:start]...), "{}"...), data[end:]...)
	return cursors, rest, true
}

// readCursors reads {"name":{"offset":N,"hash":"H"},...} at data[i:].
func readCursors(data []byte, i int) (map[string]record.Cursor, int, bool) {
	if i >= len(data) || data[i] != '{' {
		return nil, 0, false
	}
	text := &fileText{data: data}
	// sized for the cursors the file may hold (one pretty-printed takes
	// some 80 bytes), so the map is not grown and rehashed again and again
	cursors := make(map[string]record.Cursor, (len(data)-i)/128)
	n := 0
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return cursors, i + 1, true
	}
	for {
		key, j, ok := plainString(data, i)
		if !ok {
			return nil, 0, false
		}
		keyEnd := j - 1
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return nil, 0, false
		}
		var c record.Cursor
		if c, i, ok = readCursor(data, text, skipSpace(data, i+1)); !ok {
			return nil, 0, false
		}
		cursors[text.of(key, keyEnd)] = c
		n++
		i = skipSpace(data, i)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
			continue
		}
		if i >= len(data) || data[i] != '}' || n != len(cursors) {
			return nil, 0, false
		}
		return cursors, i + 1, true
	}
}

// readCursor reads {"offset":N,"hash":"H"} (in either order, both there).
func readCursor(data []byte, text *fileText, i int) (record.Cursor, int, bool) {
	var c record.Cursor
	if i >= len(data) || data[i] != '{' {
		return c, 0, false
	}
	var haveOffset, haveHash bool
	i++
	for {
		key, j, ok := plainString(data, skipSpace(data, i))
		if !ok {
			return c, 0, false
		}
		i = skipSpace(data, j)
		if i >= len(data) || data[i] != ':' {
			return c, 0, false
		}
		i = skipSpace(data, i+1)
		switch {
		case string(key) == "offset" && !haveOffset:
			if c.Offset, i, ok = plainOffset(data, i); !ok {
				return c, 0, false
			}
			haveOffset = true
		case string(key) == "hash" && !haveHash:
			var h []byte
			if h, i, ok = plainString(data, i); !ok {
				return c, 0, false
			}
			c.Hash, haveHash = text.of(h, i-1), true
		default:
			return c, 0, false
		}
		i = skipSpace(data, i)
		if i < len(data) && data[i] == ',' {
			i++
			continue
		}
		if i >= len(data) || data[i] != '}' || !haveOffset || !haveHash {
			return c, 0, false
		}
		return c, i + 1, true
	}
}

// strings makes the names and hashes of cursors substrings of one copy
// of the file: two allocations for 100,000 cursors, not 200,000.
type fileText struct {
	data []byte
	all  string
}

// of returns the plain string that ends just before data[end] (plainString
// returned end+1) as a string.
func (s *fileText) of(b []byte, end int) string {
	if s.all == "" {
		s.all = string(s.data)
	}
	return s.all[end-len(b) : end]
}

// plainString reads a string of printable ASCII with no escape at
// data[i:], returning its content and the index past it.
func plainString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainOffset reads a non-negative integer of at most 18 digits, no
// leading zero, ending where a number must.
func plainOffset(data []byte, i int) (int64, int, bool) {
	var n int64
	j := i
	for j < len(data) && data[j] >= '0' && data[j] <= '9' {
		n = n*10 + int64(data[j]-'0')
		j++
	}
	if j == i || j-i > 18 || (data[i] == '0' && j-i > 1) {
		return 0, 0, false
	}
	if j < len(data) && !bytes.ContainsRune([]byte(" \t\r\n,}"), rune(data[j])) {
		return 0, 0, false
	}
	return n, j, true
}

// skipValue finds the end of the JSON value at data[i:], trusting the
// decoder to check it: strings are skipped escape by escape, brackets
// counted.
func skipValue(data []byte, i int) (int, bool) {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			j, ok := skipString(data, i)
			if !ok {
				return 0, false
			}
			if depth == 0 {
				return j, true
			}
			i = j
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return 0, false
			}
			if depth == 0 {
				return i + 1, true
			}
		default:
			if depth == 0 {
				j := i
				for j < len(data) && !bytes.ContainsRune([]byte(" \t\r\n,}]:"), rune(data[j])) {
					j++
				}
				return j, j > i
			}
		}
		i++
	}
	return 0, false
}

// skipString returns the index past the string at data[i:].
func skipString(data []byte, i int) (int, bool) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}
