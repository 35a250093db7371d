package handler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"pgregory.net/rapid"
)

// The counter of examples/counter, for tests that run the SDK in-process.
type counterState struct {
	Value int64 `json:"value"`
}

type counterCommand struct {
	Type string `json:"type"`
}

type wasReset struct {
	Previous int64 `json:"previous"`
}

var counter = Aggregate[counterState, counterCommand]{
	Decide: func(s counterState, c counterCommand) ([]Event, error) {
		switch c.Type {
		case "Increment":
			return []Event{{Type: "Incremented"}}, nil
		case "Decrement":
			if s.Value == 0 {
				return nil, errors.New("counter is already zero, cannot decrement")
			}
			return []Event{{Type: "Decremented"}}, nil
		case "Reset":
			if s.Value == 0 {
				return nil, errors.New("nothing to reset")
			}
			return []Event{{Type: "WasReset", Data: wasReset{Previous: s.Value}}}, nil
		case "Nothing":
			return nil, nil
		}
		return nil, fmt.Errorf("unknown command %q", c.Type)
	},
	Evolve: func(s counterState, ev Event) counterState {
		switch ev.Type {
		case "Incremented":
			s.Value++
		case "Decremented":
			s.Value--
		case "WasReset":
			var d wasReset
			if err := ev.Decode(&d); err != nil || d.Previous != s.Value {
				panic(fmt.Sprintf("WasReset data %+v (%v) at value %d", d, err, s.Value))
			}
			s.Value = 0
		}
		return s
	},
}

func TestServeAggregatePipe(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ServeAggregate(inR, outW, counter)
		outW.CloseWithError(err)
		done <- err
	}()
	answers := bufio.NewReader(outR)
	// Each answer must arrive while the input is still open: the loop
	// flushes when it has nothing more to read.
	for _, tt := range []struct{ req, want string }{
		{`{"op":"handle","state":null,"command":{"type":"Increment"},"context":{}}`,
			`{"events":[{"type":"Incremented","data":null}],"state":{"value":1}}`},
		{`{"op":"apply","state":{"value":1},"events":[{"type":"Incremented","data":null,"ts":1,"id":"x"}]}`,
			`{"state":{"value":2}}`},
	} {
		if _, err := io.WriteString(inW, tt.req+"\n"); err != nil {
			t.Fatal(err)
		}
		got, err := answers.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want+"\n" {
			t.Fatalf("answer %s\nwant   %s", got, tt.want)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServeAggregateAnswers(t *testing.T) {
	// A want ending in "*" is a prefix: the codec's words are not this
	// package's business.
	tests := []struct{ req, want string }{
		{`{"op":"handle","state":null,"command":{"type":"Decrement"}}`, `{"error":"counter is already zero, cannot decrement"}`},
		{`{"op":"handle","state":{"value":3},"command":{"type":"Reset"}}`, `{"events":[{"type":"WasReset","data":{"previous":3}}],"state":{"value":0}}`},
		{`{"op":"handle","state":{"value":3},"command":{"type":"Nothing"}}`, `{"events":[],"state":{"value":3}}`},
		{`{"op":"handle","state":null,"command":{"type":"Bogus"}}`, `{"error":"unknown command \"Bogus\""}`},
		{`{"op":"handle","state":null,"command":{"type":7}}`, `{"error":"decode command: *`},
		{`{"op":"handle","state":"x","command":{"type":"Increment"}}`, `{"error":"decode state: *`},
		{`{"op":"apply","state":null,"events":[]}`, `{"state":{"value":0}}`},
		{`{"op":"apply","state":null,"events":[{"type":"Incremented"},{"type":"Incremented"},{"type":"WasReset","data":{"previous":2}},{"type":"Unknown","data":[1]},{"type":"Incremented"}]}`, `{"state":{"value":1}}`},
		{`{"op":"project"}`, `{"error":"unknown op \"project\""}`},
		{`not json`, `{"error":"decode request: *`},
		// No newline on the last request: still answered.
		{`{"op":"apply","state":{"value":5},"events":[]}`, `{"state":{"value":5}}`},
	}
	var in, want strings.Builder
	for i, tt := range tests {
		in.WriteString(tt.req)
		if i < len(tests)-1 {
			in.WriteString("\n\n") // blank lines are skipped
		}
		want.WriteString(tt.want + "\n")
	}
	var out bytes.Buffer
	if err := ServeAggregate(strings.NewReader(in.String()), &out, counter); err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(want.String(), "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if prefix, ok := strings.CutSuffix(w, "*"); ok && strings.HasPrefix(g, prefix) {
			continue
		}
		if g != w {
			t.Errorf("answer %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

// countingWriter counts the writes reaching the pipe.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestServePipelines(t *testing.T) {
	const n = 200
	var in strings.Builder
	for range n {
		in.WriteString(`{"op":"handle","state":null,"command":{"type":"Increment"}}` + "\n")
	}
	var out countingWriter
	if err := ServeAggregate(strings.NewReader(in.String()), &out, counter); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\n"); got != n {
		t.Fatalf("%d answers, want %d", got, n)
	}
	// The requests were all waiting, so the answers left in few writes.
	if out.writes > 2 {
		t.Fatalf("%d writes for %d pipelined answers", out.writes, n)
	}
}

func TestServeWriteError(t *testing.T) {
	r, w := io.Pipe()
	r.Close()
	err := ServeAggregate(strings.NewReader(`{"op":"apply","state":null,"events":[]}`+"\n"), w, counter)
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err = %v, want the write error", err)
	}
}

func TestEventDecode(t *testing.T) {
	var d wasReset
	for _, ev := range []Event{
		{Type: "WasReset", Data: wasReset{Previous: 4}},               // from Decide, same type
		{Type: "WasReset", Data: record.RawMessage(`{"previous":4}`)}, // from the log
		{Type: "WasReset", Data: map[string]int{"previous": 4}},       // from Decide, another type
		{Type: "WasReset", Data: &wasReset{Previous: 4}},              // a pointer
	} {
		d = wasReset{}
		if err := ev.Decode(&d); err != nil || d.Previous != 4 {
			t.Fatalf("Decode(%#v) = %+v, %v", ev.Data, d, err)
		}
	}
	d = wasReset{Previous: 9}
	for _, ev := range []Event{{Type: "X"}, {Type: "X", Data: record.Null}} {
		if err := ev.Decode(&d); err != nil || d.Previous != 9 {
			t.Fatalf("Decode of null data changed %+v, %v", d, err)
		}
	}
	if err := (Event{Data: record.RawMessage(`"text"`)}).Decode(&d); err == nil {
		t.Fatal("Decode of a string into a struct: no error")
	}
}

func TestServeProjection(t *testing.T) {
	count := func(s map[string]int, rec record.Record) map[string]int {
		if s == nil {
			s = map[string]int{}
		}
		ev, err := record.ParseEvent(rec.Event)
		if err != nil {
			panic(err)
		}
		s[ev.Type]++
		return s
	}
	in := `{"op":"project","name":"n","state":null,"records":[` +
		`{"aggregate_type":"counter","instance_id":"a","version":1,"offset":10,"hash":"h","event":{"type":"Incremented","data":null,"ts":1}},` +
		`{"aggregate_type":"counter","instance_id":"b","version":1,"offset":10,"hash":"h","event":{"type":"Incremented","data":null,"ts":1}}]}` + "\n" +
		`{"op":"project","name":"n","state":{"Incremented":2},"records":[]}` + "\n" +
		`{"op":"react","name":"n","state":null,"records":[]}` + "\n"
	var out bytes.Buffer
	if err := ServeProjection(strings.NewReader(in), &out, count); err != nil {
		t.Fatal(err)
	}
	want := `{"state":{"Incremented":2}}` + "\n" + `{"state":{"Incremented":2}}` + "\n" + `{"error":"unknown op \"react\""}` + "\n"
	if out.String() != want {
		t.Fatalf("answers\n%s\nwant\n%s", out.String(), want)
	}
}

func TestServeProcessManager(t *testing.T) {
	react := func(seen int, rec record.Record) (int, []record.Envelope) {
		if rec.Version%2 == 1 {
			return seen + 1, nil
		}
		return seen + 1, []record.Envelope{{
			AggregateType: "audit",
			InstanceID:    rec.InstanceID,
			Command:       record.RawMessage(`{"type":"Note"}`),
		}}
	}
	rec := func(v int) string {
		return fmt.Sprintf(`{"aggregate_type":"counter","instance_id":"a","version":%d,"offset":1,"hash":"h","event":{"type":"X","data":null,"ts":1}}`, v)
	}
	in := `{"op":"react","name":"pm","state":3,"records":[` + rec(1) + `,` + rec(2) + `]}` + "\n" +
		`{"op":"react","name":"pm","state":null,"records":[]}` + "\n"
	var out bytes.Buffer
	if err := ServeProcessManager(strings.NewReader(in), &out, react); err != nil {
		t.Fatal(err)
	}
	want := `{"state":5,"commands":[{"aggregate_type":"audit","instance_id":"a","command":{"type":"Note"},"context":{},"record":1}]}` + "\n" +
		`{"state":0,"commands":[]}` + "\n"
	if out.String() != want {
		t.Fatalf("answers\n%s\nwant\n%s", out.String(), want)
	}
	// What the SDK writes is what the client side accepts.
	for line := range strings.Lines(out.String()) {
		if _, err := ReactAnswerFrom([]byte(strings.TrimSuffix(line, "\n"))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHandleThenApplyAgree checks the SDK's promise that the state in a
// handle answer is what apply of the same events gives: fold may keep the
// one and later rebuild with the other.
func TestHandleThenApplyAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cmds := rapid.SliceOf(rapid.SampledFrom([]string{"Increment", "Decrement", "Reset", "Nothing", "Bogus"})).Draw(t, "commands")
		state := record.Null
		var events []record.RawMessage
		for _, c := range cmds {
			req := fmt.Sprintf(`{"op":"handle","state":%s,"command":{"type":%q}}`, state, c)
			a, err := HandleAnswerFrom(serveOne(t, req))
			if err != nil {
				t.Fatal(err)
			}
			if a.Rejected() {
				continue
			}
			for _, ev := range a.Events {
				b, err := record.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				events = append(events, b)
			}
			state = a.State
		}
		req, err := record.Marshal(ApplyRequest{Op: OpApply, State: record.Null, Events: orEmpty(events)})
		if err != nil {
			t.Fatal(err)
		}
		a, err := ApplyAnswerFrom(serveOne(t, string(req)))
		if err != nil {
			t.Fatal(err)
		}
		if string(a.State) != string(state) && !(len(events) == 0 && string(state) == "null") {
			t.Fatalf("apply of all events gives %s, handle answers ended at %s", a.State, state)
		}
	})
}

func serveOne(t *rapid.T, req string) []byte {
	var out bytes.Buffer
	if err := ServeAggregate(strings.NewReader(req+"\n"), &out, counter); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}
