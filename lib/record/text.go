package record

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// JSON is UTF-8 text, and eventfold-es reads its logs as text: a byte that
// is not UTF-8, or an escaped lone surrogate (\ud800), is not a character.
// The decoder silently makes each one U+FFFD, which would turn an id into
// another (the stream "a\xffb" created as "a\ufffdb") and store lines
// eventfold-es cannot read. The parsers refuse them instead.

// CheckText refuses a line that is not UTF-8, naming the first top-level
// member that holds the bad byte, or its position when none does, and a
// line that escapes a lone surrogate.
func CheckText(line []byte) error {
	if utf8.Valid(line) {
		if bytes.Contains(line, []byte(`\ud`)) || bytes.Contains(line, []byte(`\uD`)) {
			if esc := loneSurrogate(line); esc != "" {
				return invalid("%s is a lone surrogate, not a character (%s)", esc, Excerpt(line, 60))
			}
		}
		return nil
	}
	var fields map[string]RawMessage
	if Unmarshal(line, &fields) == nil {
		for _, k := range sortedKeys(fields) {
			if v := fields[k]; !utf8.Valid(v) {
				return invalid("%s %s is not UTF-8", k, quoteRaw(v))
			}
		}
	}
	i := invalidUTF8At(line)
	return invalid("not UTF-8: byte %#x at %d (%s)", line[i], i, Quote(truncate(string(line[max(i-20, 0):]), 40)))
}

// invalidUTF8At is the index of the first byte of b that does not start a
// valid UTF-8 sequence; len(b) if there is none.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// quoteRaw quotes a raw JSON value for a message: a string without its
// JSON quotes, so that "a\xffb" shows as such.
func quoteRaw(v RawMessage) string {
	s := string(v)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return Quote(truncate(s, 40))
}

// loneSurrogate returns the first \uXXXX escape in the JSON text s that
// is a surrogate not in a pair, or "". Backslashes occur in JSON only in
// strings, so s may be a whole line.
func loneSurrogate(s []byte) string {
	hex := func(i int) (rune, bool) {
		if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 32)
		return rune(v), err == nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		r, ok := hex(i)
		if !ok {
			i++ // another escape: skip its second byte
			continue
		}
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return string(s[i : i+6])
		case r >= 0xd800 && r <= 0xdbff:
			if lo, ok := hex(i + 6); !ok || lo < 0xdc00 || lo > 0xdfff {
				return string(s[i : i+6])
			}
			i += 6
		}
		i += 5
	}
	return ""
}
