package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fold-es/fold/lib/app/apptest"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/record"
)

// The counter events every test starts from, with their ts.
var counterEvents = []string{
	`{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":1764446400}}`,
	`{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":1764446401}}`,
	`{"aggregate_type":"counter","instance_id":"b","event":{"type":"Incremented","data":null,"ts":1764446402}}`,
	`{"aggregate_type":"counter","instance_id":"a","event":{"type":"WasReset","data":{"previous":2},"ts":1764446403}}`,
	`{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Incremented","data":null,"ts":1764446404}}`,
}

// foldProject is fold-project over a fresh root holding counterEvents;
// recs are their records, as fold-exec printed them.
func foldProject(t *testing.T) (fp apptest.Program, root, recs string) {
	env := apptest.RootEnv(t)
	root = env["FOLD_ROOT"]
	recs = apptest.Inject(t, root, counterEvents...)
	return apptest.Program{Name: "fold-project", New: newApp, Env: env}, root, recs
}

func totals(t *testing.T) string { return apptest.JQ(t, "examples/counter/total_counter.jq") }

// state is a TotalCounter state line.
func state(incs, resets string) string {
	return `{"total_increments":` + incs + `,"total_decrements":0,"total_resets":` + resets + "}\n"
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	fp, _, _ := foldProject(t)
	const poll = "fold-project: error: --poll needs --follow and the root (not --stdin)\n"
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, "fold-project: error: --name is required\nfold-project: hint: name the projection: its files are in projections/NAME/\n"},
		{[]string{"--name", "t"}, "fold-project: error: no handler given\nfold-project: hint: give --handler CMD, e.g. --handler 'jq --unbuffered -c -f examples/counter/total_counter.jq'\n"},
		{[]string{"--name", "t", "--handler", " "}, "fold-project: error: no handler given\nfold-project: hint: give --handler CMD, e.g. --handler 'jq --unbuffered -c -f examples/counter/total_counter.jq'\n"},
		{[]string{"--name", "a/b", "--handler", "x"}, "fold-project: error: --name: name \"a/b\" is not a single path segment (contains /)\n"},
		{[]string{"--name", "t", "--handler", "x", "--poll", "1s"}, poll},
		{[]string{"--name", "t", "--handler", "x", "--stdin", "--follow", "--poll", "1s"}, poll},
		{[]string{"--name", "t", "--show", "--stdin"}, "fold-project: error: --show does not run anything: --stdin makes no sense with it\n"},
		{[]string{"--name", "t", "--show", "--rebuild"}, "fold-project: error: --show does not run anything: --rebuild makes no sense with it\n"},
		{[]string{"--name", "t", "--handler", "x", "--batch", "0"}, "fold-project: error: --batch 0 is not a positive number\n"},
		{[]string{"--name", "t", "--handler", "x", "--if-busy", "no"}, "fold-project: error: --if-busy \"no\" is not wait or skip\n"},
		{[]string{"--name", "t", "--handler", "x", "--subscribe", "a,b/c"}, "fold-project: error: --subscribe: aggregate_type \"b/c\" is not a single path segment (contains /)\n"},
		{[]string{"--name", "t", "--handler", "x", "extra"}, "fold-project: error: unexpected argument \"extra\"\n"},
		{[]string{"--name", "t", "--handler", "x", "--poll", "-1s", "--follow"}, "fold-project: error: --poll -1s is negative\nfold-project: hint: give a length of time, e.g. --poll 5s\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			apptest.Check(t, fp.Run(t, "", tc.args...), apptest.Result{Code: 2, Stderr: tc.stderr})
		})
	}
	// --rebuild takes true, false or auto; the flag parser words the rest.
	r := fp.Run(t, "", "--name", "t", "--handler", "x", "--rebuild=maybe")
	if r.Code != 2 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "fold-project: error: ") || !strings.Contains(r.Stderr, `"maybe" is not true, false or auto`) {
		t.Errorf("--rebuild=maybe:\n%s", r)
	}
}

// A run catches up and prints the state; the next resumes from its
// checkpoint; --show prints what was saved.
func TestProject(t *testing.T) {
	t.Parallel()
	fp, root, _ := foldProject(t)
	run := []string{"--name", "totals", "--subscribe", "counter", "--handler", totals(t)}
	apptest.Check(t, fp.Run(t, "", run...), apptest.Result{Stdout: state("3", "1")})
	apptest.Check(t, fp.Run(t, "", run...), apptest.Result{Stdout: state("3", "1")})
	apptest.Check(t, fp.Run(t, "", "--show", "--name", "totals"), apptest.Result{Stdout: state("3", "1")})
	// Only what is new is sent to the handler: a handler that counts
	// records tells.
	apptest.Inject(t, root, counterEvents[2])
	apptest.Check(t, fp.Run(t, "", run...), apptest.Result{Stdout: state("4", "1")})
	// Without --subscribe every type is projected, here into another name.
	apptest.Check(t, fp.Run(t, "", "--name", "all", "--handler", totals(t)), apptest.Result{Stdout: state("5", "1")})
	// --rebuild replays everything: the same totals, not doubled.
	apptest.Check(t, fp.Run(t, "", append(run, "--rebuild")...), apptest.Result{Stdout: state("4", "1")})
}

func TestShowNeverRun(t *testing.T) {
	t.Parallel()
	fp, root, _ := foldProject(t)
	apptest.Check(t, fp.Run(t, "", "--show", "--name", "t"), apptest.Result{Code: 1, Stderr: "" +
		"fold-project: error: projection \"t\" has never run (no checkpoint in " + record.Quote(filepath.Join(root, "projections", "t")) + ")\n" +
		"fold-project: hint: run it first: fold-project --name t --handler CMD\n"})
}

// --dry-run shows the state a run would print and saves nothing.
func TestDryRun(t *testing.T) {
	t.Parallel()
	fp, _, _ := foldProject(t)
	apptest.Check(t, fp.Run(t, "", "--name", "t", "--subscribe", "counter", "--handler", totals(t), "--dry-run"),
		apptest.Result{Stdout: state("3", "1")})
	if r := fp.Run(t, "", "--show", "--name", "t"); r.Code != 1 {
		t.Errorf("--dry-run saved a checkpoint:\n%s", r)
	}
}

func TestNoStore(t *testing.T) {
	t.Parallel()
	env := apptest.RootEnv(t)
	fp := apptest.Program{Name: "fold-project", New: newApp, Env: env}
	apptest.Check(t, fp.Run(t, "", "--name", "t", "--handler", totals(t)), apptest.Result{Stdout: state("0", "0"),
		Stderr: "fold-project: warning: no store at " + record.Quote(env["FOLD_ROOT"]) + "\nfold-project: hint: check --root and $FOLD_ROOT (readers never create a store)\n"})
	apptest.WantNoRoot(t, env["FOLD_ROOT"])
}

func TestRootIsAFile(t *testing.T) {
	t.Parallel()
	file := apptest.FileRoot(t)
	fp := apptest.Program{Name: "fold-project", New: newApp, Env: map[string]string{"FOLD_ROOT": file}}
	apptest.Check(t, fp.Run(t, "", "--name", "t", "--handler", "x"), apptest.Result{Code: 3,
		Stderr: "fold-project: error: root " + record.Quote(file) + " is not a directory\nfold-project: hint: --root (or $FOLD_ROOT) names the directory that holds the store\n"})
}

// Records from stdin: a bad line is named and skipped, a record seen
// twice is applied once, and a second run with the same records changes
// nothing.
func TestStdin(t *testing.T) {
	t.Parallel()
	fp, _, recs := foldProject(t)
	in := recs + "nope\n" + recs
	run := []string{"--stdin", "--name", "t", "--subscribe", "counter", "--handler", totals(t)}
	apptest.Check(t, fp.Run(t, in, run...), apptest.Result{Code: 1, Stdout: state("3", "1"),
		Stderr: "fold-project: error: line 6: malformed JSON \"nope\": invalid character 'o' in literal null (expecting 'u')\n"})
	apptest.Check(t, fp.Run(t, recs, run...), apptest.Result{Stdout: state("3", "1")})
}

// A handler that fails on a batch: exit 1, nothing applied or saved.
func TestHandlerFails(t *testing.T) {
	t.Parallel()
	fp, _, _ := foldProject(t)
	apptest.Check(t, fp.Run(t, "", "--name", "t", "--subscribe", "counter", "--handler", `read l; echo '{"error":"boom"}'`), apptest.Result{Code: 1,
		Stderr: `fold-project: error: projection "t": batch of 4 records from "counter/a" version 1 not applied: project: handler "read l; echo '{\"error\":\"boom\"}'" answered "project" with an error: "boom"` + "\n"})
	// One that cannot even start stops the run: exit 3.
	apptest.Check(t, fp.Run(t, "", "--name", "t", "--subscribe", "counter", "--handler", "exit 3"), apptest.Result{Code: 3, Stderr: "" +
		`fold-project: error: handler "exit 3" cannot start: exited without answering (exit status 3), each of the 2 times it was started` + "\n" +
		`fold-project: hint: a handler reads requests on stdin and answers each with one line; try it by hand: echo '{"op":"project","name":"t","state":null,"records":[]}' | sh -c 'exit 3'` + "\n"})
	if r := fp.Run(t, "", "--show", "--name", "t"); r.Code != 1 {
		t.Errorf("a failed batch was saved:\n%s", r)
	}
}

// A handler whose file changed is noticed: a warning naming the file, and
// --rebuild=auto replays everything through it.
func TestHandlerChanged(t *testing.T) {
	t.Parallel()
	fp, _, _ := foldProject(t)
	file := filepath.Join(t.TempDir(), "count.jq")
	write := func(per string) {
		if err := os.WriteFile(file, []byte(`{state: {n: ((.state.n // 0) + `+per+` * (.records | length))}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := []string{"--name", "n", "--subscribe", "counter", "--handler", "jq --unbuffered -c -f " + apptest.Sh(file)}
	write("1")
	apptest.Check(t, fp.Run(t, "", run...), apptest.Result{Stdout: `{"n":4}` + "\n"})
	write("10")
	apptest.Check(t, fp.Run(t, "", run...), apptest.Result{Stdout: `{"n":4}` + "\n", Stderr: "" +
		"fold-project: warning: projection \"n\": the handler changed since the last run (file " + record.Quote(file) + " changed); the state so far was made by the old one\n" +
		"fold-project: hint: --rebuild replays every record through the new handler; --rebuild=auto does so whenever it changes\n"})
	apptest.Check(t, fp.Run(t, "", append(run, "--rebuild=auto")...), apptest.Result{Stdout: `{"n":40}` + "\n",
		Stderr: "fold-project: warning: projection \"n\": the handler changed since the last rebuild (file " + record.Quote(file) + " changed): rebuilding\n"})
	apptest.Check(t, fp.Run(t, "", append(run, "--rebuild=auto")...), apptest.Result{Stdout: `{"n":40}` + "\n"})
}

// --follow prints the state once caught up, then after each batch that
// changed it.
func TestFollow(t *testing.T) {
	t.Parallel()
	fp, root, _ := foldProject(t)
	var once sync.Once
	appended := make(chan error, 1)
	r := fp.RunUntil(t, "", func(out string) bool {
		once.Do(func() {
			go func() {
				_, err := apptest.Append(t.Context(), root, counterEvents[0])
				appended <- err
			}()
		})
		return strings.Count(out, "\n") == 2
	}, "--follow", "--poll", "10ms", "--name", "t", "--subscribe", "counter", "--handler", totals(t))
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	apptest.Check(t, r, apptest.Result{Stdout: state("3", "1") + state("4", "1")})
	apptest.Check(t, fp.Run(t, "", "--show", "--name", "t"), apptest.Result{Stdout: state("4", "1")})
}

// A name another run holds: exit 75 after --lock-timeout, 0 and silent
// with --if-busy=skip.
func TestBusy(t *testing.T) {
	t.Parallel()
	fp, root, _ := foldProject(t)
	lock, _ := apptest.HoldConsumer(t, root, consumer.Projection, "t")
	run := []string{"--name", "t", "--handler", totals(t)}
	apptest.Check(t, fp.Run(t, "", append(run, "--lock-timeout", "50ms")...), apptest.Result{Code: 75, Stderr: "" +
		"fold-project: error: projection \"t\" is in use: lock " + record.Quote(lock) + " is held by another run (waited 50ms)\n" +
		"fold-project: hint: wait for the other run to end, give a longer --lock-timeout, or --if-busy=skip to skip quietly\n"})
	apptest.Check(t, fp.Run(t, "", append(run, "--if-busy=skip")...), apptest.Result{})
}
