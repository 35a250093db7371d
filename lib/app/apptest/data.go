package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/app"
	fexec "github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Inject appends events to the store at root as `fold-exec --inject` does
// (through app.Commands), one line of lines each:
// {"aggregate_type","instance_id","event":{…}}. An event that gives its ts
// and no id is stored byte for byte, so what readers print of it is the
// same on every run. Lines are appended one after the other (fold-exec
// works on streams in parallel), so streams are created in their order.
// It returns the records appended, as fold-exec prints them.
func Inject(t testing.TB, root string, lines ...string) string {
	t.Helper()
	out, err := Append(t.Context(), root, lines...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Append is Inject for a goroutine of a test, which may not end it.
func Append(ctx context.Context, root string, lines ...string) (string, error) {
	log := slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	for _, line := range lines {
		var stderr bytes.Buffer
		run := &app.Commands{
			Engine:  fexec.New(fexec.Config{Store: store.Open(root), Sync: fexec.SyncNone, Log: log}),
			Inject:  true,
			Report:  app.NewReporter("inject", false, &stderr, log),
			MaxLine: record.MaxLine(record.DefaultMaxEvent),
		}
		if err := run.Run(ctx, ctx, func() {}, []app.Input{{R: strings.NewReader(line + "\n")}}, &out); err != nil || stderr.Len() > 0 {
			return "", fmt.Errorf("inject %s: %v\n%s", line, err, stderr.String())
		}
	}
	return out.String(), nil
}

// Lines decodes each line of s as a JSON object.
func Lines(t testing.TB, s string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for line := range strings.Lines(s) {
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("not a JSON object: %q: %v", line, err)
		}
		objs = append(objs, o)
	}
	return objs
}

// What differs from run to run in a record a handler's events made: the
// event's ts and id (a UUID), and the hash of its line, which covers both.
var (
	tsField   = regexp.MustCompile(`"ts":\d+`)
	idField   = regexp.MustCompile(`"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`)
	hashField = regexp.MustCompile(`"hash":"[0-9a-f]{16}"`)
)

// Scrub replaces in s the values of records that differ from run to run
// (event ts and id, line hash) with fixed ones, so output can be compared
// whole. Offsets stay: ts and ids have a fixed width while the clock does.
func Scrub(s string) string {
	s = tsField.ReplaceAllString(s, `"ts":0`)
	s = idField.ReplaceAllString(s, `"id":"ID"`)
	return hashField.ReplaceAllString(s, `"hash":"HASH"`)
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests got")

// Golden compares got with the file at file (testdata/…), or, with
// -update, writes got there.
func Golden(t testing.TB, file, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s\nwant:\n%s", file, got, want)
	}
}

// Build builds the Go command pkg (an import path) into a directory of the
// test's and returns the binary's path. Even from the build cache, linking
// takes a second or two: it is skipped with -short.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building", pkg)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build", pkg)
	}
	// examples/counter/go is counter-go, as make build names it.
	bin := filepath.Join(t.TempDir(), path.Base(path.Dir(pkg))+"-"+path.Base(pkg))
	cmd := exec.Command(gobin, "build", "-o", bin, pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out.String())
	}
	return bin
}
