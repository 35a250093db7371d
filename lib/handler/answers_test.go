package handler

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

var handleAnswers = []string{
	`{"events":[{"type":"Incremented","data":null}],"state":{"value":1}}`,
	`{"events":[{"type":"Incremented"}]}`,
	`{"events":[]}`,
	`{"events":[],"state":{"value":0}}`,
	` { "events" : [ { "type" : "A" , "data" : { "x" : [1, "]}"] } } , {"data":"\"","type":"B"} ] , "state" : "s" } `,
	`{"events":[{"type":"A","data":1,"extra":[{}]}],"x":{"events":[]}}`,
	`{"Events":[{"type":"A"}]}`,
	`{"events":[{"Type":"A"}]}`,
	`{"events":[{"type":"A","DATA":2}]}`,
	`{"events":[{"type":"A"}],"events":[{"type":"B"}]}`,
	`{"events":[{"type":"A","type":"B"}]}`,
	`{"events":[{"type":"A","data":1,"data":2}]}`,
	`{"events":[{"type":"A"}],"state":null}`,
	`{"events":[{"type":"A"}],"state":1,"state":2}`,
	`{"events":[{"type":"\u0041"}]}`,
	`{"ev\u0065nts":[{"type":"A"}]}`,
	`{"events":[{"type":""}]}`,
	`{"events":[{"type":1}]}`,
	`{"events":[null]}`,
	`{"events":null}`,
	`{"events":{}}`,
	`{"error":"no"}`,
	`{"error":""}`,
	`{"events":[{"type":"A"}],"error":"no"}`,
	`{"state":{}}`,
	`{}`,
	`[]`,
	`{"events":[{"type":"A","data":null}],"state":{"value":1},"error":null}`,
}

// TestPlainHandleAnswer: whatever the one-pass reader takes, the decoder
// reads alike; the rest is left to the decoder.
func TestPlainHandleAnswer(t *testing.T) {
	took := 0
	for _, in := range handleAnswers {
		if plainMatchesDecoder(t, []byte(in)) {
			took++
		}
	}
	if took < 5 {
		t.Errorf("the one-pass reader took %d answers; want the plain ones", took)
	}
}

func FuzzPlainHandleAnswer(f *testing.F) {
	for _, in := range handleAnswers {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if record.Valid(line) {
			plainMatchesDecoder(t, line)
		}
	})
}

func plainMatchesDecoder(t *testing.T, line []byte) bool {
	t.Helper()
	fast, ok := plainHandleAnswer(line)
	if !ok {
		return false
	}
	var slow HandleAnswer
	err := decodeAnswer(OpHandle, line, &slow)
	if err != nil || slow.Error != nil || slow.Events == nil {
		t.Fatalf("%s: the one-pass reader took it, the decoder says %v (error %v)", line, err, slow.Error)
	}
	for i := range slow.Events {
		if slow.Events[i].Data == nil {
			slow.Events[i].Data = record.Null
		}
	}
	if len(fast.Events) != len(slow.Events) {
		t.Fatalf("%s: %d events, the decoder %d", line, len(fast.Events), len(slow.Events))
	}
	for i := range fast.Events {
		f, s := fast.Events[i], slow.Events[i]
		if f.Type != s.Type || s.Type == "" || !bytes.Equal(f.Data, s.Data) {
			t.Fatalf("%s: event %d is %q %s, the decoder's %q %s", line, i, f.Type, f.Data, s.Type, s.Data)
		}
	}
	if !bytes.Equal(fast.State, slow.State) || (fast.State == nil) != (slow.State == nil) {
		t.Fatalf("%s: state %q, the decoder's %q", line, fast.State, slow.State)
	}
	if !reflect.DeepEqual(fast.Error, slow.Error) {
		t.Fatalf("%s: error %v, the decoder's %v", line, fast.Error, slow.Error)
	}
	return true
}

var stateAnswers = []string{
	`{"state":{"value":1}}`,
	` { "state" : [1,"}"] , "x":{"state":2} } `,
	`{"state":null}`,
	`{"state":1,"state":2}`,
	`{"State":1}`,
	`{"state":1,"commands":[]}`,
	`{"state":1,"error":"x"}`,
	`{}`,
}

// TestPlainStateAnswer: as TestPlainHandleAnswer, for apply, project and
// react answers.
func TestPlainStateAnswer(t *testing.T) {
	took := 0
	for _, in := range stateAnswers {
		if plainStateMatchesDecoder(t, []byte(in)) {
			took++
		}
	}
	if took != 2 {
		t.Errorf("the one-pass reader took %d answers; want the 2 plain ones", took)
	}
}

func FuzzPlainStateAnswer(f *testing.F) {
	for _, in := range stateAnswers {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if record.Valid(line) {
			plainStateMatchesDecoder(t, line)
		}
	})
}

func plainStateMatchesDecoder(t *testing.T, line []byte) bool {
	t.Helper()
	fast, ok := plainStateAnswer(line)
	if !ok {
		return false
	}
	var slow stateAnswer
	if err := decodeAnswer(OpApply, line, &slow); err != nil || slow.Error != nil || slow.Commands != nil || slow.State == nil {
		t.Fatalf("%s: the one-pass reader took it, the decoder says %v", line, err)
	}
	if !bytes.Equal(fast, slow.State) {
		t.Fatalf("%s: state %s, the decoder's %s", line, fast, slow.State)
	}
	return true
}
