package handler

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a decoded value, as encoding/json does.
const maxDepth = 10000

// decodeValue decodes one JSON value into what gojq takes as input: maps,
// slices, strings, bools and nil; an integer that fits an int as an int,
// any other number as a json.Number, so that a number the program passes
// on is written back as it was read (as jq 1.7 does), however large or
// however spelled. It replaces encoding/json, which took a third of an
// in-process request's time on the counter example; the fuzz test holds it
// to encoding/json's results.
func decodeValue(b []byte) (any, error) {
	return decodeWith(b, parallelBytes)
}

// parallelBytes is the size from which an array in the request object (a
// project request's records, an apply request's events) is decoded on
// several goroutines: decoding a batch of records took a third of
// fold-project's time with an in-process jq handler, on one core.
const parallelBytes = 64 << 10

// minPerPart is the fewest elements a goroutine of a parallel decode takes.
const minPerPart = 32

// decodeWith is decodeValue, with the size from which the request's
// arrays are decoded in parallel (0: never).
func decodeWith(b []byte, parallel int) (any, error) {
	return decodeFrom(b, parallel, nil)
}

// decodeFrom is decodeWith, taking the request's arrays decoded ahead
// from ahead (nil: none).
func decodeFrom(b []byte, parallel int, ahead *aheads) (any, error) {
	// One copy of the request as a string: every string decoded from it
	// without escapes, key or value, is a substring of it, with no
	// allocation of its own. Nothing decoded outlives the call (the
	// program's answer is encoded as JSON), so the copy is freed with it.
	d := valueDecoder{s: string(b), parallel: parallel, ahead: ahead}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i < len(d.s) {
		return nil, d.errorf("more than one value")
	}
	return v, nil
}

type valueDecoder struct {
	s        string
	i        int
	parallel int     // see decodeWith
	ahead    *aheads // arrays decoded ahead (see DecodeAhead), or nil
}

func (d *valueDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", d.i, fmt.Sprintf(format, args...))
}

func (d *valueDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *valueDecoder) value(depth int) (any, error) {
	if d.i >= len(d.s) {
		return nil, d.errorf("unexpected end")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"):
		return true, nil
	case d.literal("false"):
		return false, nil
	case d.literal("null"):
		return nil, nil
	}
	return nil, d.errorf("unexpected %q", d.s[d.i])
}

func (d *valueDecoder) literal(s string) bool {
	if len(d.s)-d.i >= len(s) && d.s[d.i:d.i+len(s)] == s {
		d.i += len(s)
		return true
	}
	return false
}

func (d *valueDecoder) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.errorf("nested too deep")
	}
	// A size hint up to 8 makes the map and its first group one
	// allocation: most objects have no more keys.
	m := make(map[string]any, 8)
	if d.open('}') {
		return m, nil
	}
	for {
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, d.errorf("want a string key")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, d.errorf("want ':'")
		}
		d.i++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v // the last of duplicate keys wins, as in encoding/json
		if more, err := d.next('}'); err != nil || !more {
			return m, err
		}
	}
}

func (d *valueDecoder) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.errorf("nested too deep")
	}
	if depth == 2 && d.ahead != nil {
		if v, n, ok := d.ahead.take(d.s[d.i:]); ok {
			d.i += n
			return v, nil
		}
	}
	if depth == 2 && d.parallel > 0 && len(d.s)-d.i >= d.parallel {
		return d.arrayParallel(depth)
	}
	a := []any{}
	if d.open(']') {
		return a, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if more, err := d.next(']'); err != nil || !more {
			return a, err
		}
	}
}

// open moves past the opening bracket at d.i and reports whether closing
// follows at once (and moves past it too).
func (d *valueDecoder) open(closing byte) (empty bool) {
	d.i++
	d.space()
	if d.i < len(d.s) && d.s[d.i] == closing {
		d.i++
		return true
	}
	return false
}

// next moves past what follows an element: a comma and the space after it
// (more), or the closing bracket (not more, no error).
func (d *valueDecoder) next(closing byte) (more bool, err error) {
	d.space()
	if d.i < len(d.s) {
		switch d.s[d.i] {
		case ',':
			d.i++
			d.space()
			return true, nil
		case closing:
			d.i++
			return false, nil
		}
	}
	return false, d.errorf("want ',' or '%c'", closing)
}

// arrayParallel decodes an array by finding where its elements start and
// end with a scan that allocates nothing, then decoding the elements on
// GOMAXPROCS goroutines. Each element must decode to exactly its span, so
// the array is accepted only if it is valid JSON, as a sequential decode
// would accept it.
func (d *valueDecoder) arrayParallel(depth int) (any, error) {
	var spans [][2]int
	if d.open(']') {
		return []any{}, nil
	}
	for more := true; more; {
		start := d.i
		if err := d.skip(); err != nil {
			return nil, err
		}
		spans = append(spans, [2]int{start, d.i})
		var err error
		if more, err = d.next(']'); err != nil {
			return nil, err
		}
	}
	out := make([]any, len(spans))
	parts := min(runtime.GOMAXPROCS(0), max(len(spans)/minPerPart, 1))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(spans)/parts, (p+1)*len(spans)/parts
		wg.Go(func() {
			for k := lo; k < hi; k++ {
				e := valueDecoder{s: d.s[:spans[k][1]], i: spans[k][0]}
				v, err := e.value(depth)
				if err == nil && e.i != len(e.s) {
					err = e.errorf("unexpected %q", e.s[e.i])
				}
				if err != nil {
					errs[p] = err
					return
				}
				out[k] = v
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// skip moves past the value at d.i without decoding it: past the matching
// bracket of an object or array, the closing quote of a string, or the run
// of bytes of a number or literal. It checks no more than it needs to
// find the end; decoding the span checks the rest.
func (d *valueDecoder) skip() error {
	nest := 0
	for d.i < len(d.s) {
		switch c := d.s[d.i]; c {
		case '"':
			if err := d.skipString(); err != nil {
				return err
			}
		case '{', '[':
			nest++
			d.i++
		case '}', ']':
			if nest == 0 {
				return nil // the end of the enclosing array: decoding the span says what is wrong
			}
			nest--
			d.i++
		case ',', ' ', '\t', '\n', '\r':
			if nest == 0 {
				return nil
			}
			d.i++
		default:
			d.i++
		}
		if nest == 0 && d.i > 0 && (d.s[d.i-1] == '"' || d.s[d.i-1] == '}' || d.s[d.i-1] == ']') {
			return nil
		}
	}
	if nest > 0 {
		return d.errorf("unexpected end")
	}
	return nil
}

// skipString moves past the string that starts at d.i: to the first quote
// not escaped, found a quote at a time rather than a byte at a time.
func (d *valueDecoder) skipString() error {
	start := d.i + 1
	for from := start; ; {
		k := strings.IndexByte(d.s[from:], '"')
		if k < 0 {
			return d.errorf("unterminated string")
		}
		q := from + k
		n := 0 // the backslashes right before the quote
		for q-1-n >= start && d.s[q-1-n] == '\\' {
			n++
		}
		from = q + 1
		if n%2 == 0 {
			d.i = from
			return nil
		}
	}
}

// number reads a number as the JSON grammar has it; see decodeValue for
// what it becomes.
func (d *valueDecoder) number() (any, error) {
	start := d.i
	plain := true // an integer: no fraction, no exponent
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && '1' <= d.s[d.i] && d.s[d.i] <= '9':
		d.digits()
	default:
		return nil, d.errorf("bad number")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		plain = false
		d.i++
		if d.digits() == 0 {
			return nil, d.errorf("bad number")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		plain = false
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, d.errorf("bad number")
		}
	}
	s := d.s[start:d.i]
	if plain && s != "-0" {
		if n, err := strconv.Atoi(s); err == nil {
			return n, nil
		}
	}
	return json.Number(s), nil
}

func (d *valueDecoder) digits() int {
	n := 0
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// string reads a string; invalid UTF-8 and lone surrogates become U+FFFD,
// as encoding/json makes them.
func (d *valueDecoder) string() (string, error) {
	d.i++ // "
	start := d.i
	// Most strings have no escapes and are ASCII: a substring.
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			s := d.s[start:d.i]
			d.i++
			return s, nil
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		d.i++
	}
	buf := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < ' ':
			return "", d.errorf("control character in a string")
		case c == '\\':
			var err error
			if buf, err = d.escape(buf); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			buf = utf8.AppendRune(buf, r) // RuneError for a bad byte
			d.i += size
		}
	}
	return "", d.errorf("unterminated string")
}

// escape appends what the escape at d.i stands for.
func (d *valueDecoder) escape(buf []byte) ([]byte, error) {
	if d.i+1 >= len(d.s) {
		return nil, d.errorf("unterminated string")
	}
	c := d.s[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r, ok := d.hex4()
		if !ok {
			return nil, d.errorf("bad \\u escape")
		}
		if utf16.IsSurrogate(r) {
			// A pair makes one rune; anything else is a lone half.
			save := d.i
			if d.literal(`\u`) {
				if r2, ok := d.hex4(); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						return utf8.AppendRune(buf, pair), nil
					}
				}
			}
			d.i = save
			r = utf8.RuneError
		}
		return utf8.AppendRune(buf, r), nil
	}
	d.i -= 2
	return nil, d.errorf("bad escape")
}

func (d *valueDecoder) hex4() (rune, bool) {
	if len(d.s)-d.i < 4 {
		return 0, false
	}
	var r rune
	for k := range 4 {
		switch c := d.s[d.i+k]; {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}
