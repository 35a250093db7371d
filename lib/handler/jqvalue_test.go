package handler

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

// stdDecode is what encoding/json makes of b with UseNumber, the reference
// for decodeValue; ok is false when b is not one JSON value.
func stdDecode(b []byte) (v any, ok bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// asNumbers turns decodeValue's ints into json.Numbers, as encoding/json
// has them.
func asNumbers(v any) any {
	switch v := v.(type) {
	case int:
		return json.Number(strconv.Itoa(v))
	case []any:
		for i := range v {
			v[i] = asNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = asNumbers(v[k])
		}
	}
	return v
}

var valueSeeds = []string{
	`{"op":"handle","aggregate_type":"counter","instance_id":"i000042","version":7,"state":{"value":7},"command":{"type":"Increment"},"context":{}}`,
	` [1, -0, 0, -1, 1.0, 1e3, 1E+3, 1.5e-7, 100000000000000000001, -9223372036854775808, 9223372036854775808] `,
	`{"a":"\u00e9\n\t\"\\\/\b\f\r","b":"\ud83d\ude00","c":"\ud800","d":"\ud800\u0041","e":"\udc00\ud800x","é":"ü"}`,
	"\"\xff\xfe bad utf-8 \xe2\x82\"",
	`{"dup":1,"dup":2}`,
	`[[[[]]],{},[{}],null,true,false]`,
	`{"records":[{"a":[1,{"b":"]"}]},"x\"]",2,[],{},null,true,-1.5e3]}`,
	`{"events":["a\\","b\"c\\\"",{"k\\":"\\\\"},"\\"]}`, `{"events":["a\\"b"]}`,
	`{"events":[1 2]}`, `{"events":[1,]}`, `{"events":[{"a":1]]}`, `{"events":["a",}`, `{"events":[1"x"]}`, `{"events":[{}`, `{"events":[]}`,
	`{"a":1}x`, `[1,]`, `{"a"}`, `01`, `1.`, `-`, `"\x"`, `"\u12"`, "\"a\x01\"", `nul`, ``, `{"a":1}{"b":2}`,
}

func TestDecodeValue(t *testing.T) {
	for _, s := range valueSeeds {
		checkDecode(t, []byte(s))
	}
	v, err := decodeValue([]byte(`{"n":7,"big":100000000000000000001,"f":1.0,"z":-0}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": 7, "big": json.Number("100000000000000000001"), "f": json.Number("1.0"), "z": json.Number("-0")}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
}

// checkDecode holds decodeValue to encoding/json on b, decoding the
// request's arrays in parallel as well as not.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	want, ok := stdDecode(b)
	for _, parallel := range []int{0, 1} {
		got, err := decodeWith(b, parallel)
		switch {
		case !ok && err == nil:
			t.Fatalf("%q (parallel %d): decoded %#v, but it is not one JSON value", b, parallel, got)
		case ok && err != nil:
			t.Fatalf("%q (parallel %d): %v", b, parallel, err)
		case ok && !reflect.DeepEqual(asNumbers(got), want):
			t.Fatalf("%q (parallel %d): got %#v, want %#v", b, parallel, got, want)
		}
	}
}

func TestDecodeValueParallel(t *testing.T) {
	// A batch large enough to be decoded on several goroutines.
	var buf bytes.Buffer
	buf.WriteString(`{"op":"project","records":[`)
	for i := range 2000 {
		if i > 0 {
			buf.WriteString(" ,\n")
		}
		buf.WriteString(`{"n":` + strconv.Itoa(i) + `,"s":"x\"]}` + strconv.Itoa(i) + `","a":[[],{}]}`)
	}
	buf.WriteString(`]}`)
	if buf.Len() < parallelBytes {
		t.Fatalf("%d bytes: too small to be decoded in parallel", buf.Len())
	}
	checkDecode(t, buf.Bytes())
	// A bad element is found, wherever it is.
	bad := bytes.Replace(buf.Bytes(), []byte(`"n":1999,`), []byte(`"n":1999,,`), 1)
	if _, err := decodeValue(bad); err == nil {
		t.Fatal("a bad element in the last part was accepted")
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range valueSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}

// Decoded strings are not the caller's bytes: a projection reuses its
// request buffer for the next batch while a value may still be in use.
func TestDecodeValueOwnsItsStrings(t *testing.T) {
	b := []byte(`{"type":"Incremented","id":"abc"}`)
	v, err := decodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'x'
	}
	if want := map[string]any{"type": "Incremented", "id": "abc"}; !reflect.DeepEqual(v, want) {
		t.Fatalf("after the request buffer changed: %#v, want %#v", v, want)
	}
}
