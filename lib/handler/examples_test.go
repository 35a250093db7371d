package handler

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// counterRequests are requests to the counter of examples/counter, with
// the answers the protocol wants.
var counterRequests = []struct{ req, want string }{
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":0,"state":null,"command":{"type":"Increment"},"context":{"actor":"cli"}}`,
		`{"events":[{"type":"Incremented","data":null}],"state":{"value":1}}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":1,"state":{"value":1},"command":{"type":"Increment"},"context":{}}`,
		`{"events":[{"type":"Incremented","data":null}],"state":{"value":2}}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":2,"state":{"value":2},"command":{"type":"Decrement"},"context":{}}`,
		`{"events":[{"type":"Decremented","data":null}],"state":{"value":1}}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"b","version":0,"state":null,"command":{"type":"Decrement"},"context":{}}`,
		`{"error":"counter is already zero, cannot decrement"}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"b","version":0,"state":null,"command":{"type":"Reset"},"context":{}}`,
		`{"error":"nothing to reset"}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":5,"state":{"value":3},"command":{"type":"Reset"},"context":{}}`,
		`{"events":[{"type":"WasReset","data":{"previous":3}}],"state":{"value":0}}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":5,"state":{"value":3},"command":{"type":"Explode"},"context":{}}`,
		`{"error":"unknown command \"Explode\""}`},
	{`{"op":"handle","aggregate_type":"counter","instance_id":"a","version":5,"state":{"value":3},"command":{},"context":{}}`,
		`{"error":"unknown command \"\""}`},
	{`{"op":"apply","aggregate_type":"counter","instance_id":"a","state":null,"events":[]}`,
		`{"state":{"value":0}}`},
	{`{"op":"apply","aggregate_type":"counter","instance_id":"a","state":null,"events":[` +
		`{"type":"Incremented","data":null,"ts":1764446400,"id":"1"},` +
		`{"type":"Incremented","data":null,"ts":1764446400,"id":"2","actor":"alice","meta":{"correlation_id":"c-1"}},` +
		`{"type":"Incremented","data":null,"ts":1764446400},` +
		`{"type":"Decremented","data":null,"ts":1764446400},` +
		`{"type":"WasReset","data":{"previous":2},"ts":1764446400},` +
		`{"type":"SomethingNewer","data":{"x":1},"ts":1764446400},` +
		`{"type":"Incremented","data":null,"ts":1764446400}]}`,
		`{"state":{"value":1}}`},
	{`{"op":"apply","aggregate_type":"counter","instance_id":"a","state":{"value":41},"events":[{"type":"Incremented","data":null,"ts":1}]}`,
		`{"state":{"value":42}}`},
	{`{"op":"frobnicate"}`,
		`{"error":"unknown op \"frobnicate\""}`},
}

// TestCounterExamples runs the same requests through the counter handler
// written in jq, in sh and in Go (examples/counter) and checks that all
// three answer the same, byte for byte, and as the protocol says.
func TestCounterExamples(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in PATH")
	}
	dir, err := filepath.Abs("../../examples/counter")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "counter")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/fold-es/fold/examples/counter/go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	handlers := []struct{ name, command string }{
		{"jq", "jq --unbuffered -c -f '" + filepath.Join(dir, "counter.jq") + "'"},
		{"sh", "sh '" + filepath.Join(dir, "counter.sh") + "'"},
		{"go", "'" + bin + "'"},
	}
	answers := make([][]string, len(handlers))
	for i, h := range handlers {
		p := newProc(t, Config{
			Command: h.command,
			Env:     []string{"FOLD_ROLE=aggregate", "FOLD_AGGREGATE_TYPE=counter"},
			Timeout: 30 * time.Second,
			Stderr:  testWriter{t},
		})
		for _, r := range counterRequests {
			ans, err := p.Call(context.Background(), []byte(r.req))
			if err != nil {
				t.Fatalf("%s: %v", h.name, err)
			}
			answers[i] = append(answers[i], string(ans))
		}
	}
	for j, r := range counterRequests {
		for i, h := range handlers {
			if got := answers[i][j]; got != r.want {
				t.Errorf("%s answered request %d\n  %s\nwith %s\nwant %s", h.name, j+1, r.req, got, r.want)
			}
		}
	}
}

// testWriter sends a handler's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("handler stderr: %s", p)
	return len(p), nil
}
