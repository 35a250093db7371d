package handler

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// jqPool returns an in-process jq handler running program, written to a
// file of its own, closed when the test ends.
func jqPool(t *testing.T, program string, cfg Config, size int) *Pool {
	t.Helper()
	file := filepath.Join(t.TempDir(), "h.jq")
	if err := os.WriteFile(file, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Command = JQPrefix + file
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	p := NewPool(cfg, size)
	t.Cleanup(func() { p.Close() })
	return p
}

// equalJSON reports whether a and b are equal as JSON values: gojq writes
// object keys sorted, jq in the order the program built them.
func equalJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestJQFile(t *testing.T) {
	for _, c := range []struct {
		cmd, file string
		ok        bool
	}{
		{"jq:counter.jq", "counter.jq", true},
		{" jq:examples/counter/counter.jq ", "examples/counter/counter.jq", true},
		{"jq:", "", true},
		{"jq --unbuffered -c -f counter.jq", "", false},
		{"./jq:x", "", false},
		{"JQ:x", "", false},
	} {
		file, ok := JQFile(c.cmd)
		if file != c.file || ok != c.ok {
			t.Errorf("JQFile(%q) = %q, %v; want %q, %v", c.cmd, file, ok, c.file, c.ok)
		}
	}
}

func TestJQCounterExample(t *testing.T) {
	// The same requests and answers as TestCounterExamples, through the
	// example program in-process: equal as JSON (gojq sorts keys).
	file, err := filepath.Abs("../../examples/counter/counter.jq")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(Config{Command: "jq:" + file, Timeout: 10 * time.Second}, 1)
	defer p.Close()
	if p.Name() != `handler "jq:`+file+`"` {
		t.Fatalf("name %s", p.Name())
	}
	for _, r := range counterRequests {
		ans, err := p.Call(context.Background(), []byte(r.req))
		if err != nil {
			t.Fatalf("%s: %v", r.req, err)
		}
		if !equalJSON(t, string(ans), r.want) {
			t.Errorf("answered %s\n  with %s\n  want %s", r.req, ans, r.want)
		}
	}
}

func TestJQEnvironment(t *testing.T) {
	t.Setenv("FOLD_PROTOCOL", "0") // an inherited value must not win
	t.Setenv("FOLD_TEST_INHERITED", "yes")
	p := jqPool(t, `{protocol: $ENV.FOLD_PROTOCOL, role: env.FOLD_ROLE, inherited: $ENV.FOLD_TEST_INHERITED}`,
		Config{Env: []string{"FOLD_ROLE=aggregate"}}, 1)
	ans, err := p.Call(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"inherited":"yes","protocol":"1","role":"aggregate"}`; string(ans) != want {
		t.Fatalf("answer %s, want %s", ans, want)
	}
}

func TestJQNumbersAsWritten(t *testing.T) {
	// A number the program passes on is written as it was read, however
	// large or however spelled; arithmetic still works on it.
	p := jqPool(t, `{state: .state, sum: (.state.a + 1)}`, Config{}, 1)
	ans, err := p.Call(context.Background(), []byte(`{"state":{"a":41,"b":1.0,"c":100000000000000000001,"d":1e3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"state":{"a":41,"b":1.0,"c":100000000000000000001,"d":1e3},"sum":42}`; string(ans) != want {
		t.Fatalf("answer %s, want %s", ans, want)
	}
}

func TestJQFailures(t *testing.T) {
	for _, c := range []struct {
		name, program string
		sentinel      error
		want          string
	}{
		{"error", `error("no such thing")`, ErrFailed, `failed: jq: error: no such thing`},
		{"type error", `.state[]`, ErrFailed, `failed: jq: error: cannot iterate over: null`},
		{"no output", `empty`, ErrBadAnswer, `gave no answer (the program had no output for the request)`},
		{"two outputs", `{a: 1}, {b: 2}`, ErrBadAnswer, `answered more than once (the program had more than one output for the request): "{\"a\":1}"`},
		{"not an object", `[1, 2]`, ErrBadAnswer, `answered with something that is not a JSON object: "[1,2]"`},
		{"error after the answer", `{a: 1}, error("late")`, ErrFailed, `failed after its answer: jq: error: late`},
		{"halt", `halt`, ErrExited, `exited without answering (halt, exit status 0)`},
		{"halt_error", `"bye\n" | halt_error(3)`, ErrExited, `exited without answering (halt_error, exit status 3)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr syncBuffer
			p := jqPool(t, c.program, Config{Stderr: &stderr}, 1)
			_, err := p.Call(context.Background(), []byte(`{"state":null}`))
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("err = %v, want %v", err, c.sentinel)
			}
			if want := p.Name() + " " + c.want; err.Error() != want {
				t.Fatalf("err = %s\nwant  %s", err, want)
			}
			if c.name == "halt_error" && stderr.String() != "bye\n" {
				t.Fatalf("stderr %q, want what halt_error was given", stderr.String())
			}
		})
	}
}

func TestJQCompat(t *testing.T) {
	// Builtins of jq that gojq lacks, defined for it; a program's own
	// definition of the same name wins.
	p := jqPool(t, `{keys: (.state | keys_unsorted), leaves: [.state | leaf_paths]}`, Config{}, 1)
	ans, err := p.Call(context.Background(), []byte(`{"state":{"b":1,"a":{"c":2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"keys":["a","b"],"leaves":[["a","c"],["b"]]}`; string(ans) != want {
		t.Fatalf("answer %s, want %s", ans, want)
	}
	q := jqPool(t, `def keys_unsorted: ["mine"]; {k: keys_unsorted}`, Config{}, 1)
	if ans, err := q.Call(context.Background(), []byte(`{}`)); err != nil || string(ans) != `{"k":["mine"]}` {
		t.Fatalf("answer %s, %v", ans, err)
	}
}

func TestJQModules(t *testing.T) {
	// Modules are found beside the program, as with jq -L DIR.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "twice.jq"), []byte(`def twice: . * 2;`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "h.jq")
	if err := os.WriteFile(file, []byte(`include "twice"; import "twice" as t; {n: (.n | twice | t::twice)}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := NewPool(Config{Command: "jq:" + file}, 1)
	defer p.Close()
	if ans, err := p.Call(context.Background(), []byte(`{"n":3}`)); err != nil || string(ans) != `{"n":12}` {
		t.Fatalf("answer %s, %v", ans, err)
	}
}

func TestJQHaltAfterAnswer(t *testing.T) {
	// A one-shot jq answers, then halts: that is an answer.
	p := jqPool(t, `{ok: true}, halt`, Config{}, 1)
	if ans, err := p.Call(context.Background(), []byte(`{}`)); err != nil || string(ans) != `{"ok":true}` {
		t.Fatalf("answer %s, %v", ans, err)
	}
}

func TestJQTimeout(t *testing.T) {
	// A program that loops for ever is stopped by the timeout, and the
	// handler answers the next request.
	p := jqPool(t, `if .loop then until(false; .) else {ok: true} end`, Config{Timeout: 200 * time.Millisecond}, 1)
	start := time.Now()
	_, err := p.Call(context.Background(), []byte(`{"loop":true}`))
	if !errors.Is(err, ErrTimeout) || err.Error() != p.Name()+" did not answer within 200ms" {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopped after %s", d)
	}
	if ans, err := p.Call(context.Background(), []byte(`{}`)); err != nil || string(ans) != `{"ok":true}` {
		t.Fatalf("next answer %s, %v", ans, err)
	}
	// The caller's deadline, when it is the earlier one.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Call(ctx, []byte(`{"loop":true}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestJQDebugAndStderr(t *testing.T) {
	var debug, stderr syncBuffer
	p := jqPool(t, `("note" | stderr) as $_ | (.op | debug) as $_ | {ok: 1}`, Config{Debug: &debug, Stderr: &stderr}, 1)
	if _, err := p.Call(context.Background(), []byte(`{"op":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if want := "fold: protocol > {\"op\":\"x\"}\nfold: protocol < {\"ok\":1}\n"; debug.String() != want {
		t.Fatalf("debug copy %q, want %q", debug.String(), want)
	}
	if want := "note[\"DEBUG:\",\"x\"]\n"; stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
	// What a misbehaving program printed is in the copy too.
	debug = syncBuffer{}
	q := jqPool(t, `[1]`, Config{Debug: &debug}, 1)
	_, _ = q.Call(context.Background(), []byte(`{}`))
	if want := "fold: protocol > {}\nfold: protocol < [1]\n"; debug.String() != want {
		t.Fatalf("debug copy %q, want %q", debug.String(), want)
	}
}

func TestJQCannotStart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, program string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(program), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct{ file, want string }{
		{filepath.Join(dir, "nosuch.jq"), "cannot read its program: open " + filepath.Join(dir, "nosuch.jq") + ": no such file or directory"},
		{write("parse.jq", "{a: 1}\n| {b: }"), "its program does not parse: " + filepath.Join(dir, "parse.jq") + `:2:7: unexpected token "}"`},
		{write("loc.jq", `$__loc__`), "its program does not compile: variable not defined: $__loc__"},
		{write("input.jq", `input`), "its program does not compile: input(s)/0 is not allowed"},
		{"", "names no program file"},
	} {
		p := NewPool(Config{Command: "jq:" + c.file}, 1)
		err := p.Start(context.Background(), AggregateProbe("counter"))
		se, ok := errors.AsType[*StartError](err)
		if !ok {
			t.Fatalf("%s: err = %v (%T), want *StartError", c.file, err, err)
		}
		if want := p.Name() + " cannot start: " + c.want; se.Error() != want {
			t.Errorf("err = %s\nwant  %s", se, want)
		}
		// A call later gets the same error, without reading the file again.
		if _, err := p.Call(context.Background(), []byte(`{}`)); !errors.As(err, &se) {
			t.Errorf("%s: Call err = %v", c.file, err)
		}
		p.Close()
	}
}

func TestJQConcurrent(t *testing.T) {
	// One compiled program, many callers: every answer is its own.
	p := jqPool(t, `{state: ((.state // 0) + (.events | length)), id: .instance_id}`, Config{}, 2)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := strings.Repeat("x", g) + string(rune('a'+i%26))
				req := `{"instance_id":"` + id + `","state":3,"events":[1,2]}`
				ans, err := p.Call(context.Background(), []byte(req))
				if err != nil {
					t.Error(err)
					return
				}
				if want := `{"id":"` + id + `","state":5}`; string(ans) != want {
					t.Errorf("answer %s, want %s", ans, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestJQClosed(t *testing.T) {
	p := jqPool(t, `{}`, Config{}, 1)
	p.Close()
	if _, err := p.Call(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}
