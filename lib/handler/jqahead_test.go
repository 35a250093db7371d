package handler

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// projectArray is a JSON array of n records of the counter, from the i-th.
func projectArray(i, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"aggregate_type":"counter","instance_id":"i%d","version":1,"offset":0,"hash":"h\"%d","event":{"type":"Incremented","data":{"n":%d,"s":"é\n"},"ts":1}}`, i+k, i+k, i+k)
	}
	b.WriteByte(']')
	return b.String()
}

// sumProgram answers the sum of the records' data.n, and how many there
// are, so that a record lost or decoded wrong shows.
const sumProgram = `{state: {n: ((.state.n // 0) + (.records | length)), sum: (reduce .records[] as $r (.state.sum // 0; . + $r.event.data.n)), last: .records[-1].event.data.s}}`

func projectRequest(state, array string) []byte {
	return []byte(`{"op":"project","name":"p","state":` + state + `,"records":` + array + `}`)
}

// A request that holds an array decoded ahead takes it, and answers as it
// would have without; a request that holds other records decodes them.
func TestDecodeAhead(t *testing.T) {
	ctx := context.Background()
	ahead, plain := jqPool(t, sumProgram, Config{}, 1), jqPool(t, sumProgram, Config{}, 1)
	if !DecodesAhead(ahead) {
		t.Fatal("an in-process jq handler does not decode ahead")
	}
	// Large enough to be decoded in parallel, and small.
	for _, n := range []int{2000, 3} {
		array := projectArray(0, n)
		DecodeAhead(ahead, []byte(array))
		other := projectArray(1, n) // not decoded ahead
		for _, a := range []string{array, other} {
			req := projectRequest(`{"n":1,"sum":5}`, a)
			got, err := ahead.Call(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := plain.Call(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("%d records: answered %s; without decoding ahead %s", n, got, want)
			}
		}
		if p := len(ahead.jq.ahead.pending); p != 0 {
			t.Fatalf("%d arrays decoded ahead are left; the request took none", p)
		}
	}
}

// An array decoded ahead that is not valid JSON is not taken: the request
// that holds it fails as it would have.
func TestDecodeAheadBadArray(t *testing.T) {
	p := jqPool(t, sumProgram, Config{}, 1)
	bad := `[{"a":1},{"a":]`
	DecodeAhead(p, []byte(bad))
	_, err := p.Call(context.Background(), projectRequest("null", bad))
	if err == nil || !strings.Contains(err.Error(), "not one JSON value") {
		t.Fatalf("Call = %v; want the request's own decoding error", err)
	}
}

// Arrays that no request takes are dropped, the oldest first.
func TestDecodeAheadBounded(t *testing.T) {
	p := jqPool(t, sumProgram, Config{}, 1)
	for i := range 3 * maxAhead {
		DecodeAhead(p, []byte(projectArray(i, 2)))
	}
	if n := len(p.jq.ahead.pending); n != maxAhead {
		t.Fatalf("%d arrays kept; want %d", n, maxAhead)
	}
	// The newest is still there to take.
	if _, err := p.Call(context.Background(), projectRequest("null", projectArray(3*maxAhead-1, 2))); err != nil {
		t.Fatal(err)
	}
	if n := len(p.jq.ahead.pending); n != maxAhead-1 {
		t.Fatalf("%d arrays kept after a request took one; want %d", n, maxAhead-1)
	}
	// Other handlers take nothing ahead.
	if co := NewPool(Config{Command: "cat"}, 1); DecodesAhead(co) {
		t.Fatal("a co-process decodes ahead")
	}
}
