package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/app/apptest"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// foldExec is fold-exec over a fresh root.
func foldExec(t *testing.T) (apptest.Program, string) {
	env := apptest.RootEnv(t)
	return apptest.Program{Name: "fold-exec", New: newApp, Env: env}, env["FOLD_ROOT"]
}

func counterJQ(t *testing.T) string { return apptest.JQ(t, "examples/counter/counter.jq") }

// lines joins input lines, each ending in a newline.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	const noType = "fold-exec: error: --handler \"c\" has no aggregate type\nfold-exec: hint: give --type T, or write --handler T=CMD\n"
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no handler", nil,
			"fold-exec: error: no handler given\nfold-exec: hint: give --handler TYPE=CMD (repeatable), or --type T --handler CMD\n"},
		{"typo in a flag", []string{"--hanlder", "c=x"},
			"fold-exec: error: unknown flag --hanlder\nfold-exec: hint: did you mean --handler?\n"},
		{"unknown flag", []string{"--zzz"},
			"fold-exec: error: unknown flag --zzz\nfold-exec: hint: see --help for the flags\n"},
		{"typo in a subcommand's flag", []string{"state", "counter", "a", "--at-versoin", "1"},
			"fold-exec: error: unknown flag --at-versoin\nfold-exec: hint: did you mean --at-version?\n"},
		{"untyped handler", []string{"--handler", "c"}, noType},
		{"untyped handler after an argument", []string{"-", "--handler", "c"}, noType},
		{"two untyped handlers", []string{"--type", "t", "--handler", "x", "--handler", "y"},
			"fold-exec: error: --handler \"y\": more than one handler without a type\n"},
		{"a type with two handlers", []string{"--handler", "c=x", "--handler", "c=y"},
			"fold-exec: error: --handler: aggregate_type \"c\" has two handlers\n"},
		{"empty type", []string{"--handler", "=x"},
			"fold-exec: error: --handler \"=x\": aggregate_type \"\" is not a single path segment (empty)\n"},
		{"bad --type", []string{"--type", "a/b", "--handler", "x"},
			"fold-exec: error: --type: aggregate_type \"a/b\" is not a single path segment (contains /)\n"},
		{"--bare without --id", []string{"--bare", "--type", "c", "--handler", "x"},
			"fold-exec: error: --bare needs --type and --id\n"},
		{"--log-level", []string{"--log-level", "loud", "--handler", "c=x"},
			"fold-exec: error: --log-level \"loud\" is not one of debug, info, warn, error\n"},
		{"--log-format", []string{"--log-format", "xml", "--handler", "c=x"},
			"fold-exec: error: --log-format \"xml\" is not text or json\n"},
		{"--errors", []string{"--errors", "xml", "--handler", "c=x"},
			"fold-exec: error: --errors \"xml\" is not text or json\n"},
		{"negative duration", []string{"--lock-timeout", "-5s", "--handler", "c=x"},
			"fold-exec: error: --lock-timeout -5s is negative\nfold-exec: hint: give a length of time, e.g. --lock-timeout 5s\n"},
		{"--jobs 0", []string{"--jobs", "0", "--handler", "c=x"},
			"fold-exec: error: --jobs 0 is not a positive number\n"},
		{"negative --snapshot-every", []string{"--snapshot-every", "-1", "--handler", "c=x"},
			"fold-exec: error: --snapshot-every -1 is negative\n"},
		{"--sync", []string{"--sync", "sometimes", "--handler", "c=x"},
			"fold-exec: error: --sync \"sometimes\" is not one of each, batch, none\n"},
		{"--max-event-size too small", []string{"--max-event-size", "10", "--handler", "c=x"},
			"fold-exec: error: --max-event-size \"10\" is not between 1KiB and 16MiB\nfold-exec: hint: events larger than that belong in files they name\n"},
		{"--max-event-size not a size", []string{"--max-event-size", "lots", "--handler", "c=x"},
			"fold-exec: error: --max-event-size: \"lots\" is not a size (bytes, or a number with KiB, MiB or GiB)\n"},
		{"missing input file", []string{"--handler", "c=" + counterJQ(t), "missing.jsonl"},
			"fold-exec: error: open missing.jsonl: no such file or directory\nfold-exec: hint: name input files that exist, or - for stdin\n"},
		{"state with one argument", []string{"state", "counter"},
			"fold-exec: error: state needs TYPE and ID\n"},
		{"state of a bad id", []string{"state", "counter", "a/b", "--handler", "counter=x"},
			"fold-exec: error: instance_id \"a/b\" is not a single path segment (contains /)\n"},
		{"state --at-version 0", []string{"state", "counter", "a", "--at-version", "0", "--handler", "counter=x"},
			"fold-exec: error: --at-version \"0\" is not a version (versions are whole numbers from 1)\nfold-exec: hint: leave --at-version out for the state now\n"},
		{"state without its handler", []string{"state", "counter", "a", "--handler", "other=x"},
			"fold-exec: error: no handler for aggregate_type \"counter\"\nfold-exec: hint: give --handler counter=CMD\n"},
		{"streams with an argument", []string{"streams", "extra"},
			"fold-exec: error: unexpected argument \"extra\"\n"},
		{"streams --type", []string{"streams", "--type", "a/b"},
			"fold-exec: error: --type: aggregate_type \"a/b\" is not a single path segment (contains /)\n"},
		{"a common flag before the subcommand", []string{"--log-level", "loud", "streams"},
			"fold-exec: error: --log-level \"loud\" is not one of debug, info, warn, error\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx, root := foldExec(t)
			apptest.Check(t, fx.Run(t, "", tc.args...), apptest.Result{Code: 2, Stderr: tc.stderr})
			apptest.WantNoRoot(t, root)
		})
	}
}

// The flag parser's own complaints are usage errors too, naming the flag.
func TestFlagParserErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--jobs", "x", "--handler", "c=x"}, {"--handler"}} {
		fx, _ := foldExec(t)
		r := fx.Run(t, "", args...)
		if r.Code != 2 || !strings.HasPrefix(r.Stderr, "fold-exec: error: ") || !strings.Contains(r.Stderr, strings.TrimLeft(args[0], "-")) {
			t.Errorf("%q:\n%s", args, r)
		}
	}
}

// The same commands through the counter in jq, in sh and in Go: the same
// records, the same rejection, whichever the language.
func TestCounterHandlers(t *testing.T) {
	t.Parallel()
	handlers := map[string]func(t *testing.T) string{
		"jq": counterJQ,
		"sh": func(t *testing.T) string { return "sh " + apptest.Sh(apptest.Repo(t, "examples/counter/counter.sh")) },
		"go": func(t *testing.T) string {
			return apptest.Sh(apptest.Build(t, "github.com/fold-es/fold/examples/counter/go"))
		},
	}
	in := lines(
		`{"instance_id":"a","command":{"type":"Increment"}}`,
		`{"instance_id":"a","command":{"type":"Increment"}}`,
		`{"instance_id":"b","command":{"type":"Decrement"}}`,
		`{"instance_id":"a","command":{"type":"Reset"}}`,
		`{"aggregate_type":"counter","instance_id":"b","command":{"type":"Increment"},"command_id":"b-1"}`,
	)
	for lang, handler := range handlers {
		t.Run(lang, func(t *testing.T) {
			t.Parallel() // the Go handler's build overlaps the other runs
			fx, _ := foldExec(t)
			h := handler(t)
			r := fx.Run(t, in, "--type", "counter", "--handler", h)
			if r.Code != 1 {
				t.Fatalf("a rejected command: want exit 1\n%s", r)
			}
			want := "fold-exec: error: line 3: counter/b rejected the command: counter is already zero, cannot decrement\n"
			if r.Stderr != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.Stderr, want)
			}
			apptest.Golden(t, "testdata/counter.jsonl", apptest.Scrub(r.Stdout))

			// The state as the handler folds it, now and back in time.
			apptest.Check(t, fx.Run(t, "", "state", "counter", "a", "--handler", "counter="+h),
				apptest.Result{Stdout: `{"aggregate_type":"counter","instance_id":"a","version":3,"state":{"value":0}}` + "\n"})
			apptest.Check(t, fx.Run(t, "", "state", "--at-version", "2", "counter", "a", "--handler", "counter="+h),
				apptest.Result{Stdout: `{"aggregate_type":"counter","instance_id":"a","version":2,"state":{"value":2}}` + "\n"})
		})
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	fx, _ := foldExec(t)
	h := "counter=" + counterJQ(t)
	apptest.Check(t, fx.Run(t, "", "state", "counter", "a", "--handler", h),
		apptest.Result{Code: 1, Stderr: "fold-exec: error: no such stream \"counter/a\"\n"})
	if r := fx.Run(t, `{"instance_id":"a","command":{"type":"Increment"}}`+"\n", "--type", "counter", "--handler", counterJQ(t)); r.Code != 0 {
		t.Fatal(r)
	}
	apptest.Check(t, fx.Run(t, "", "state", "counter", "a", "--at-version", "5", "--handler", h),
		apptest.Result{Code: 1, Stderr: "fold-exec: error: counter/a has 1 event; --at-version 5 is past its end\n"})
	// Flags after the arguments, as a user types them.
	apptest.Check(t, fx.Run(t, "", "state", "counter", "a", "--handler", h),
		apptest.Result{Stdout: `{"aggregate_type":"counter","instance_id":"a","version":1,"state":{"value":1}}` + "\n"})
}

func TestStreams(t *testing.T) {
	t.Parallel()
	fx, root := foldExec(t)
	apptest.Check(t, fx.Run(t, "", "streams"), apptest.Result{Stderr: "fold-exec: warning: no store at " + record.Quote(root) +
		"\nfold-exec: hint: check --root and $FOLD_ROOT (readers never create a store)\n"})
	apptest.Inject(t, root,
		`{"aggregate_type":"order","instance_id":"o-2","event":{"type":"Placed","data":null,"ts":1}}`,
		`{"aggregate_type":"counter","instance_id":"b","event":{"type":"Incremented","data":null,"ts":1}}`,
		`{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Placed","data":null,"ts":1}}`,
	)
	apptest.Check(t, fx.Run(t, "", "streams"), apptest.Result{Stdout: lines(
		`{"aggregate_type":"counter","instance_id":"b"}`,
		`{"aggregate_type":"order","instance_id":"o-1"}`,
		`{"aggregate_type":"order","instance_id":"o-2"}`)})
	apptest.Check(t, fx.Run(t, "", "streams", "--type", "order"), apptest.Result{Stdout: lines(
		`{"aggregate_type":"order","instance_id":"o-1"}`,
		`{"aggregate_type":"order","instance_id":"o-2"}`)})
	// --root given before the subcommand counts.
	other := apptest.Program{Name: "fold-exec", New: newApp, Env: map[string]string{}}
	apptest.Check(t, other.Run(t, "", "--root", root, "streams", "--type", "counter"),
		apptest.Result{Stdout: `{"aggregate_type":"counter","instance_id":"b"}` + "\n"})
}

// A bad line is named by its number, and the lines around it still run.
func TestBadLines(t *testing.T) {
	t.Parallel()
	in := lines(
		`{"instance_id":"a","command":{"type":"Increment"}}`,
		`nope`,
		`[1]`,
		`{"command":{"type":"Increment"}}`,
		`{"aggregate_type":"other","instance_id":"a","command":{"type":"Increment"}}`,
		`{"instance_id":"a","command":{"type":"Increment"}}`,
	)
	t.Run("text", func(t *testing.T) {
		fx, _ := foldExec(t)
		r := fx.Run(t, in, "--type", "counter", "--handler", counterJQ(t))
		apptest.Check(t, apptest.Result{Code: r.Code, Stderr: r.Stderr}, apptest.Result{Code: 1, Stderr: lines(
			`fold-exec: error: line 2: malformed JSON "nope": invalid character 'o' in literal null (expecting 'u')`,
			`fold-exec: error: line 3: expected a JSON object, got "[1]"`,
			`fold-exec: error: line 4: missing instance_id (give it in the line or with --id)`,
			`fold-exec: error: line 5: no handler for aggregate_type "other"`,
		)})
		var versions []float64
		for _, rec := range apptest.Lines(t, r.Stdout) {
			versions = append(versions, rec["version"].(float64))
		}
		if len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
			t.Errorf("lines 1 and 6 should have appended versions 1 and 2; got %v\n%s", versions, r.Stdout)
		}
	})
	t.Run("json", func(t *testing.T) {
		fx, _ := foldExec(t)
		r := fx.Run(t, in, "--type", "counter", "--handler", counterJQ(t), "--errors", "json")
		if r.Code != 1 {
			t.Fatal(r)
		}
		apptest.Golden(t, "testdata/bad-lines-errors.jsonl", r.Stderr)
	})
}

// Input files are read in order, "-" being stdin, and a failure names the
// file and the line in it.
func TestInputFiles(t *testing.T) {
	t.Parallel()
	fx, _ := foldExec(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "second.jsonl")
	write(t, first, lines(`{"instance_id":"a","command":{"type":"Increment"}}`))
	write(t, second, lines(`{"instance_id":"c","command":{"type":"Increment"}}`, `{"instance_id":"c","command":{"type":"Reset"}}`, `{"instance_id":"c","command":{"type":"Reset"}}`))
	r := fx.Run(t, lines(`{"instance_id":"b","command":{"type":"Increment"}}`), first, "-", second, "--type", "counter", "--handler", counterJQ(t))
	if want := "fold-exec: error: " + second + ":3: counter/c rejected the command: nothing to reset\n"; r.Code != 1 || r.Stderr != want {
		t.Errorf("want exit 1 and %q\n%s", want, r)
	}
	var got []string
	for _, rec := range apptest.Lines(t, r.Stdout) {
		got = append(got, rec["instance_id"].(string)+"/"+rec["event"].(map[string]any)["type"].(string))
	}
	if want := "a/Incremented b/Incremented c/Incremented c/WasReset"; strings.Join(got, " ") != want {
		t.Errorf("records in the order %s; want %s", strings.Join(got, " "), want)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBare(t *testing.T) {
	t.Parallel()
	fx, _ := foldExec(t)
	r := fx.Run(t, lines(`{"type":"Increment"}`, `{"type":"Increment"}`), "--bare", "--type", "counter", "--id", "z", "--handler", counterJQ(t))
	if r.Code != 0 || r.Stderr != "" {
		t.Fatal(r)
	}
	recs := apptest.Lines(t, r.Stdout)
	if len(recs) != 2 || recs[1]["instance_id"] != "z" || recs[1]["version"] != 2.0 {
		t.Errorf("want versions 1 and 2 of counter/z:\n%s", r.Stdout)
	}
}

// Events injected with their ts and no id are stored byte for byte: the
// records are the same on every run, offsets and hashes included.
func TestInject(t *testing.T) {
	t.Parallel()
	fx, _ := foldExec(t)
	r := fx.Run(t, lines(
		`{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Placed","data":{"sku":"widget","qty":2},"ts":1764446400}}`,
		`{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Confirmed","data":null,"ts":1764446401}}`,
		`{"aggregate_type":"order","instance_id":"o-2","event":{"type":"Placed","data":{"sku":"gadget","qty":1},"ts":1764446402}}`,
		`{"aggregate_type":"order","instance_id":"o-2"}`,
	), "--inject")
	if r.Code != 1 || r.Stderr != "fold-exec: error: line 4: missing event\n" {
		t.Errorf("want exit 1 for line 4's missing event:\n%s", r)
	}
	apptest.Golden(t, "testdata/inject.jsonl", r.Stdout)
}

// A command_id already recorded is skipped: a note, not a failure.
func TestDuplicateCommand(t *testing.T) {
	t.Parallel()
	fx, root := foldExec(t)
	cmd := `{"instance_id":"a","command":{"type":"Increment"},"command_id":"c1"}`
	r := fx.Run(t, lines(cmd, cmd), "--type", "counter", "--handler", counterJQ(t), "--log-level", "info")
	want := lines(
		"fold-exec: note: no store at "+record.Quote(root)+" yet: the first event appended creates it",
		`fold-exec: note: line 2: command_id "c1" already recorded in counter/a: skipped`)
	if r.Code != 0 || r.Stderr != want {
		t.Errorf("want exit 0 and\n%s\ngot:\n%s", want, r)
	}
	if recs := apptest.Lines(t, r.Stdout); len(recs) != 1 || recs[0]["event"].(map[string]any)["meta"].(map[string]any)["command_id"] != "c1" {
		t.Errorf("want one record, with the command_id in its meta:\n%s", r.Stdout)
	}
	// Again, at the default level: silent, and still not applied twice.
	apptest.Check(t, fx.Run(t, lines(cmd), "--type", "counter", "--handler", counterJQ(t)), apptest.Result{})
}

// A line kept in --rejects is reported but does not fail the run.
func TestRejects(t *testing.T) {
	t.Parallel()
	fx, _ := foldExec(t)
	rejects := filepath.Join(t.TempDir(), "rejects.jsonl")
	r := fx.Run(t, lines(`{"instance_id":"a","command":{"type":"Increment"}}`, `{"instance_id":"b","command":{"type":"Decrement"}}`),
		"--type", "counter", "--handler", counterJQ(t), "--rejects", rejects)
	if want := "fold-exec: error: line 2: counter/b rejected the command: counter is already zero, cannot decrement\n"; r.Code != 0 || r.Stderr != want {
		t.Errorf("want exit 0 and %q\n%s", want, r)
	}
	b, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	letters := apptest.Lines(t, string(b))
	if len(letters) != 1 || letters[0]["error"] != "counter/b rejected the command: counter is already zero, cannot decrement" ||
		letters[0]["envelope"].(map[string]any)["instance_id"] != "b" {
		t.Errorf("dead letters:\n%s", b)
	}
}

func TestRootIsAFile(t *testing.T) {
	t.Parallel()
	file := apptest.FileRoot(t)
	fx := apptest.Program{Name: "fold-exec", New: newApp, Env: map[string]string{"FOLD_ROOT": file}}
	apptest.Check(t, fx.Run(t, lines(`{"instance_id":"a","command":{"type":"Increment"}}`), "--type", "counter", "--handler", "x"),
		apptest.Result{Code: 3, Stderr: "fold-exec: error: root " + record.Quote(file) + " is not a directory\n" +
			"fold-exec: hint: --root (or $FOLD_ROOT) names the directory that holds the store\n"})
}

// An instance another process holds for longer than --lock-timeout is a
// retryable failure: exit 75, and the command is not applied.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	fx, root := foldExec(t)
	cmd := lines(`{"instance_id":"a","command":{"type":"Increment"}}`)
	if r := fx.Run(t, cmd, "--type", "counter", "--handler", counterJQ(t)); r.Code != 0 {
		t.Fatal(r)
	}
	w, _, err := store.Open(root).OpenWriter(record.StreamID{Type: "counter", ID: "a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	unlock, err := w.Lock(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	r := fx.Run(t, cmd, "--type", "counter", "--handler", counterJQ(t), "--lock-timeout", "50ms")
	if r.Code != 75 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "fold-exec: error: line 1: ") || !strings.Contains(r.Stderr, "counter/a") {
		t.Errorf("want exit 75, nothing appended, and line 1 named:\n%s", r)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	apptest.Check(t, fx.Run(t, "", "state", "counter", "a", "--handler", "counter="+counterJQ(t)),
		apptest.Result{Stdout: `{"aggregate_type":"counter","instance_id":"a","version":1,"state":{"value":1}}` + "\n"})
}
