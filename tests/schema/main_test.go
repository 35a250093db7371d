package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaDir = "../../docs/schema"

// TestSchemasCompile compiles every schema in docs/schema, $refs and all.
func TestSchemasCompile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil || len(files) < 16 {
		t.Fatalf("schemas: %v, %v", files, err)
	}
	v := &validator{dir: schemaDir, schemas: map[string]*jsonschema.Schema{}}
	for _, f := range files {
		if _, err := v.schema(strings.TrimSuffix(filepath.Base(f), ".json")); err != nil {
			t.Error(err)
		}
	}
}

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValidAndInvalid: the examples docs/format.md gives validate, and a
// value that breaks each rule is refused, with its line named.
func TestValidAndInvalid(t *testing.T) {
	cases := []struct {
		schema, line string
		ok           bool
	}{
		{"event", `{"type":"Incremented","data":null,"ts":1764446400,"id":"u","actor":"alice","meta":{"correlation_id":"c-1"}}`, true},
		{"event", `{"type":"Incremented","ts":1764446400}`, false},       // no data
		{"event", `{"type":"Incremented","data":null,"ts":-1}`, false},   // negative ts
		{"event", `{"type":"","data":null,"ts":1}`, false},               // empty type
		{"event", `{"type":"X","data":null,"ts":1,"extra":true}`, false}, // not what fold writes
		{"record", `{"aggregate_type":"counter","instance_id":"alpha","version":3,"offset":312,"hash":"9f0c3e1a2b4d5c6e","event":{"type":"Incremented","data":null,"ts":1764446400}}`, true},
		{"record", `{"aggregate_type":"counter","instance_id":"alpha","version":0,"offset":312,"hash":"9f0c3e1a2b4d5c6e","event":{"type":"X","data":null,"ts":1}}`, false},
		{"record", `{"aggregate_type":"counter","instance_id":"a/b","version":1,"offset":312,"hash":"9f0c3e1a2b4d5c6e","event":{"type":"X","data":null,"ts":1}}`, false},
		{"record", `{"aggregate_type":"counter","instance_id":"alpha","version":1,"offset":312,"hash":"9F0C","event":{"type":"X","data":null,"ts":1}}`, false},
		{"envelope", `{"aggregate_type":"counter","instance_id":"alpha","command":{"type":"Increment"},"context":{"actor":"cli","metadata":{"k":"v"}},"command_id":"c","expected_version":3}`, true},
		{"envelope", `{"aggregate_type":"counter","instance_id":"..","command":{"type":"Increment"}}`, false},
		{"envelope", `{"aggregate_type":"counter","instance_id":"alpha","command":"Increment"}`, false},
		{"checkpoint", `{"state":null,"cursors":{"counter/alpha":{"offset":487,"hash":"477053ed4b97daed"}}}`, true},
		{"checkpoint", `{"state":null,"cursors":{"alpha":{"offset":487,"hash":"477053ed4b97daed"}}}`, false},
		{"snapshot", `{"state":{"value":0},"offset":487,"hash":"477053ed4b97daed"}`, true},
		{"snapshot", `{"state":{"value":0},"offset":487}`, false},
		{"handle-answer", `{"events":[{"type":"Incremented"}],"state":{"value":1}}`, true},
		{"handle-answer", `{"error":"counter is already zero"}`, true},
		{"handle-answer", `{"events":[{"type":"X"}],"error":"both"}`, false},
		{"handle-answer", `{"state":{}}`, false},
		{"react-answer", `{"state":{},"commands":[{"aggregate_type":"a","instance_id":"b","command":{"type":"C"},"record":0}]}`, true},
		{"react-answer", `{"state":{},"commands":[{"instance_id":"b","command":{"type":"C"}}]}`, false},
		{"dead-letter", `{"envelope":{"aggregate_type":"a"},"error":"rejected","ts":1}`, true},
		{"dead-letter", `{"error":"rejected","ts":1}`, false},
		{"registry-entry", `{"id":"alpha","ts":1795984831,"type":"counter"}`, true},
		{"registry-entry", `{"id":"alpha","type":"counter"}`, false},
		{"change", `{"type":"counter","id":"alpha","offset":312}`, true},
		{"change", `{"type":"counter","id":"alpha"}`, false},
		{"error-record", `{"kind":"rejected","message":"m","line":1,"input":{}}`, true},
		{"error-record", `{"kind":"oops","message":"m","line":1,"input":{}}`, false},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		path := write(t, "\n"+tc.line+"\n")
		code := run([]string{schemaDir, tc.schema, path}, &out, &out)
		if ok := code == 0; ok != tc.ok {
			t.Errorf("%s %s: exit %d, want ok=%v: %s", tc.schema, tc.line, code, tc.ok, out.String())
		}
		if !tc.ok && !strings.Contains(out.String(), path+":2: schema "+tc.schema) {
			t.Errorf("%s: the failure does not name the line: %s", tc.schema, out.String())
		}
	}
}

// TestProtocolPairs: answers are checked against the op of the request
// before them, and an answer of the wrong shape for it fails.
func TestProtocolPairs(t *testing.T) {
	good := debugRequest + `{"op":"apply","aggregate_type":"counter","instance_id":"a","state":null,"events":[{"type":"Incremented","data":null,"ts":1}]}` + "\n" +
		"a handler's own stderr line\n" +
		debugAnswer + `{"state":{"value":1}}` + "\n"
	var out bytes.Buffer
	if code := run([]string{"-protocol", schemaDir, write(t, good)}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	bad := strings.Replace(good, `{"state":{"value":1}}`, `{"events":[]}`, 1)
	out.Reset()
	if code := run([]string{"-protocol", schemaDir, write(t, bad)}, &out, &out); code != 1 || !strings.Contains(out.String(), "schema apply-answer") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"-protocol", schemaDir, write(t, "nothing\n")}, &out, &out); code != 1 {
		t.Fatalf("no traffic at all passed: exit %d: %s", code, out.String())
	}
}
