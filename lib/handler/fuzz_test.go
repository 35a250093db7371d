package handler

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/fold-es/fold/lib/record"
)

// The handler protocol's readers, fuzzed: the answer decoders of all four
// ops and the line reader under them. A refusal is a bad answer with a
// reason; what is accepted re-encodes to an answer that decodes the same.

// checkBadAnswer fails t unless err refuses an answer with a reason.
func checkBadAnswer(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrBadAnswer) || e.Reason == "" {
		t.Fatalf("refusal %v is not a bad answer with a reason", err)
	}
}

// sameJSON reports whether a and b are the same JSON value, spacing aside.
func sameJSON(a, b record.RawMessage) bool {
	ca, err1 := record.CompactState(a)
	cb, err2 := record.CompactState(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

func FuzzAnswers(f *testing.F) {
	for _, s := range []string{
		`{"events":[{"type":"A","data":{"x":1}},{"type":"B"}],"state":{"v":1}}`,
		`{"events":[]}`,
		`{"error":"counter is already zero"}`,
		`{"error":""}`,
		`{"events":[{"type":"A"}],"error":"x"}`,
		`{"events":[{"data":1}]}`,
		`{"state":null}`,
		`{"state":{"n":2},"commands":[{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"}},7]}`,
		`{"error":"could not read the request"}`,
		`{"events":"A"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := HandleAnswerFrom(line)
		if err != nil {
			checkBadAnswer(t, err)
		} else {
			if (h.Error != nil) == (h.Events != nil) {
				t.Fatalf("handle answer with both or neither events and error: %+v", h)
			}
			for _, ev := range h.Events {
				if ev.Type == "" || ev.Data == nil {
					t.Fatalf("handle answer event %+v", ev)
				}
			}
			b, err := record.Marshal(h)
			if err != nil {
				t.Fatalf("accepted handle answer does not encode: %v", err)
			}
			again, err := HandleAnswerFrom(b)
			if err != nil || len(again.Events) != len(h.Events) || !sameJSON(again.State, h.State) || (again.Error == nil) != (h.Error == nil) {
				t.Fatalf("handle answer %q re-encodes as %q: %+v, %v", line, b, again, err)
			}
			for i := range h.Events {
				if again.Events[i].Type != h.Events[i].Type || !sameJSON(again.Events[i].Data, h.Events[i].Data) {
					t.Fatalf("event %d: %+v, then %+v", i, h.Events[i], again.Events[i])
				}
			}
		}
		for op, from := range map[string]func([]byte) (record.RawMessage, error){
			OpApply:   func(b []byte) (record.RawMessage, error) { a, err := ApplyAnswerFrom(b); return a.State, err },
			OpProject: func(b []byte) (record.RawMessage, error) { a, err := ProjectAnswerFrom(b); return a.State, err },
		} {
			state, err := from(line)
			if err != nil {
				checkBadAnswer(t, err)
				continue
			}
			b, _ := record.Marshal(struct {
				State record.RawMessage `json:"state"`
			}{state})
			again, err := from(b)
			if state == nil || err != nil || !sameJSON(again, state) {
				t.Fatalf("%s answer %q: state %q, again %q, %v", op, line, state, again, err)
			}
		}
		r, err := ReactAnswerFrom(line)
		if err != nil {
			checkBadAnswer(t, err)
			return
		}
		for _, c := range r.Commands {
			if !record.IsObject(c) {
				t.Fatalf("react answer command %q is not an object", c)
			}
		}
		b, err := record.Marshal(r)
		if err != nil {
			t.Fatalf("accepted react answer does not encode: %v", err)
		}
		again, err := ReactAnswerFrom(b)
		if err != nil || !sameJSON(again.State, r.State) || len(again.Commands) != len(r.Commands) {
			t.Fatalf("react answer %q re-encodes as %q: %+v, %v", line, b, again, err)
		}
	})
}

// FuzzLineReader: however the bytes arrive, the reader returns the lines
// between newlines, without "\n" or "\r\n", and a last line without a
// newline with io.EOF.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("{\"state\":1}\n{\"state\":2}\r\n\npartial"), uint8(4))
	f.Add(bytes.Repeat([]byte("x"), 300), uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		lr := newLineReader(iotest.HalfReader(bytes.NewReader(data)), 16+int(size))
		want := bytes.Split(data, []byte{'\n'})
		for i, w := range want {
			last := i == len(want)-1
			line, err := lr.next()
			if last {
				if !errors.Is(err, io.EOF) || !bytes.Equal(line, w) {
					t.Fatalf("last line: %q, %v; want %q, EOF", line, err, w)
				}
				return
			}
			w = bytes.TrimSuffix(w, []byte{'\r'})
			if err != nil || !bytes.Equal(line, w) {
				t.Fatalf("line %d: %q, %v; want %q", i+1, line, err, w)
			}
		}
	})
}
