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
	"github.com/fold-es/fold/lib/store"
)

// The events every test starts from: injected with their ts, so their
// records are the same on every run.
var (
	placed    = `{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Placed","data":{"sku":"widget","qty":2},"ts":1764446400}}`
	increment = `{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":1764446500}}`
	confirmed = `{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Confirmed","data":null,"ts":1764446600}}`
)

// foldWatch is fold-watch over a fresh root holding placed, increment and
// confirmed; recs are their records, as fold-exec printed them.
func foldWatch(t *testing.T) (fw apptest.Program, root string, recs []string) {
	env := apptest.RootEnv(t)
	root = env["FOLD_ROOT"]
	out := apptest.Inject(t, root, placed, increment, confirmed)
	return apptest.Program{Name: "fold-watch", New: newApp, Env: env}, root, strings.SplitAfter(out, "\n")[:3]
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	fw, _, _ := foldWatch(t)
	const versionHint = "fold-watch: error: --from-version needs exactly one --stream\nfold-watch: hint: versions count the events of one stream: give --stream TYPE/ID\n"
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--poll", "1s"}, "fold-watch: error: --poll needs --follow\n"},
		{[]string{"--list", "--follow"}, "fold-watch: error: --list takes only --type\n"},
		{[]string{"--commit"}, "fold-watch: error: --commit takes only --checkpoint NAME (and --root, --lock-timeout, --if-busy)\n"},
		{[]string{"--checkpoint", "m", "--commit", "--type", "order"}, "fold-watch: error: --commit takes only --checkpoint NAME (and --root, --lock-timeout, --if-busy)\n"},
		{[]string{"--at-most-once"}, "fold-watch: error: --at-most-once needs --checkpoint NAME: without one nothing is kept\n"},
		{[]string{"--checkpoint", "m", "--exec="}, "fold-watch: error: --exec needs a command\n"},
		{[]string{"--checkpoint", "m", "--exec", "cat", "--at-most-once"}, "fold-watch: error: --exec confirms each batch: --at-most-once makes no sense with it\n"},
		{[]string{"--from-version", "0"}, "fold-watch: error: --from-version \"0\" is not a version (versions are whole numbers from 1)\n"},
		{[]string{"--from-version", "2"}, versionHint},
		{[]string{"--from-version", "2", "--stream", "a/b", "--stream", "c/d"}, versionHint},
		{[]string{"--limit", "0"}, "fold-watch: error: --limit \"0\" is not a positive number\n"},
		{[]string{"-n", "x"}, "fold-watch: error: --limit \"x\" is not a positive number\n"},
		{[]string{"--since", "yesterday"}, "fold-watch: error: --since: \"yesterday\" is not a time: give 2026-12-01, 2026-12-01T10:00:00Z, @1764446400 or a duration ago like 90m\n"},
		{[]string{"--since", "@x"}, "fold-watch: error: --since: \"@x\" is not @ and a Unix time\n"},
		{[]string{"--since", "-5m"}, "fold-watch: error: --since: \"-5m\" is a negative duration\n"},
		{[]string{"--stream", "bad"}, "fold-watch: error: --stream: stream \"bad\" is not TYPE/ID\n"},
		{[]string{"--stream", "a/b/c"}, "fold-watch: error: --stream: instance_id \"b/c\" is not a single path segment (contains /)\n"},
		{[]string{"--checkpoint", "../x"}, "fold-watch: error: --checkpoint: name \"../x\" is not a single path segment (contains /)\n"},
		{[]string{"--checkpoint", "m", "--if-busy", "never"}, "fold-watch: error: --if-busy \"never\" is not wait or skip\n"},
		{[]string{"--checkpoint", "m", "--lock-timeout", "-1s"}, "fold-watch: error: --lock-timeout -1s is negative\nfold-watch: hint: give a length of time, e.g. --lock-timeout 5s\n"},
		{[]string{"extra"}, "fold-watch: error: unexpected argument \"extra\"\n"},
		{[]string{"--type", "a/b"}, "fold-watch: error: --type: aggregate_type \"a/b\" is not a single path segment (contains /)\n"},
		{[]string{"consumers", "extra"}, "fold-watch: error: unexpected argument \"extra\"\n"},
		{[]string{"--folow"}, "fold-watch: error: unknown flag --folow\nfold-watch: hint: did you mean --follow?\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			apptest.Check(t, fw.Run(t, "", tc.args...), apptest.Result{Code: 2, Stderr: tc.stderr})
		})
	}
}

func TestNoStore(t *testing.T) {
	t.Parallel()
	env := apptest.RootEnv(t)
	fw := apptest.Program{Name: "fold-watch", New: newApp, Env: env}
	warning := "fold-watch: warning: no store at " + record.Quote(env["FOLD_ROOT"]) +
		"\nfold-watch: hint: check --root and $FOLD_ROOT (readers never create a store)\n"
	for _, args := range [][]string{nil, {"--list"}, {"consumers"}, {"--checkpoint", "m"}} {
		apptest.Check(t, fw.Run(t, "", args...), apptest.Result{Stderr: warning})
	}
	apptest.WantNoRoot(t, env["FOLD_ROOT"])
}

func TestRootIsAFile(t *testing.T) {
	t.Parallel()
	file := apptest.FileRoot(t)
	fw := apptest.Program{Name: "fold-watch", New: newApp, Env: map[string]string{}}
	apptest.Check(t, fw.Run(t, "", "--root", file), apptest.Result{Code: 3,
		Stderr: "fold-watch: error: root " + record.Quote(file) + " is not a directory\nfold-watch: hint: --root (or $FOLD_ROOT) names the directory that holds the store\n"})
}

// What a catch-up prints, and what each selection keeps of it.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	fw, _, recs := foldWatch(t)
	all := fw.Run(t, "")
	apptest.Check(t, all, apptest.Result{Stdout: recs[0] + recs[2] + recs[1]})
	apptest.Golden(t, "testdata/catch-up.jsonl", all.Stdout) // streams in discovery order, each in version order
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "counter"}, recs[1]},
		{[]string{"--type", "order", "--type", "counter"}, recs[0] + recs[2] + recs[1]},
		{[]string{"--stream", "order/o-1"}, recs[0] + recs[2]},
		{[]string{"--stream", "order/o-1", "--from-version", "2"}, recs[2]},
		{[]string{"--since", "@1764446500"}, recs[2] + recs[1]},
		{[]string{"--since", "2025-11-29T20:01:40Z"}, recs[2] + recs[1]}, // @1764446500
		{[]string{"-n", "2"}, recs[0] + recs[2]},
		{[]string{"--list"}, "{\"aggregate_type\":\"counter\",\"instance_id\":\"a\"}\n{\"aggregate_type\":\"order\",\"instance_id\":\"o-1\"}\n"},
		{[]string{"--list", "--type", "order"}, "{\"aggregate_type\":\"order\",\"instance_id\":\"o-1\"}\n"},
	} {
		apptest.Check(t, fw.Run(t, "", tc.args...), apptest.Result{Stdout: tc.want})
	}
	apptest.Check(t, fw.Run(t, "", "--stream", "counter/zz"), apptest.Result{Code: 1,
		Stderr: "fold-watch: error: no such stream \"counter/zz\"\nfold-watch: hint: list the streams with fold-watch --list\n"})
}

// A corrupt log line is reported and skipped; the rest is printed.
func TestCorruptLine(t *testing.T) {
	t.Parallel()
	fw, root, recs := foldWatch(t)
	log := store.Open(root).LogPath(record.StreamID{Type: "counter", ID: "a"})
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("garbage\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	apptest.Check(t, fw.Run(t, ""), apptest.Result{Code: 1, Stdout: recs[0] + recs[2] + recs[1],
		Stderr: "fold-watch: error: " + log + ": bad line at byte 51: not valid JSON: \"garbage\" (skipped)\n"})
}

// --follow prints what is appended after the catch-up, in streams created
// later too.
func TestFollow(t *testing.T) {
	t.Parallel()
	fw, root, recs := foldWatch(t)
	later := `{"aggregate_type":"counter","instance_id":"b","event":{"type":"Incremented","data":null,"ts":1764446700}}`
	// follow runs fold-watch --follow with args, appending later once it
	// printed its first record, caught up, until stop says.
	follow := func(stop func(string) bool, args ...string) (r apptest.Result, appended string) {
		first := make(chan struct{})
		var once sync.Once
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() {
			<-first
			out, err := apptest.Append(t.Context(), root, later)
			done <- result{out, err}
		}()
		r = fw.RunUntil(t, "", func(out string) bool {
			once.Do(func() { close(first) })
			return stop(out)
		}, append([]string{"--follow", "--poll", "10ms", "--type", "counter"}, args...)...)
		a := <-done
		if a.err != nil {
			t.Fatal(a.err)
		}
		return r, a.out
	}
	// Stopped as by a signal once the record appended later is printed:
	// a clean end.
	r, appended := follow(func(out string) bool { return strings.Count(out, "\n") == 2 })
	apptest.Check(t, r, apptest.Result{Stdout: recs[1] + appended})
	// -n ends the run by itself at the record it counts to.
	before := appended
	later = strings.ReplaceAll(later, "1764446700", "1764446800")
	r, appended = follow(func(string) bool { return false }, "-n", "3")
	apptest.Check(t, r, apptest.Result{Stdout: recs[1] + before + appended})
}

// --checkpoint leaves what a run printed pending until --commit: a rerun
// before it delivers the same records again, with a warning.
func TestCheckpointPendingUntilCommit(t *testing.T) {
	t.Parallel()
	fw, root, recs := foldWatch(t)
	orders := recs[0] + recs[2]
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--type", "order"), apptest.Result{Stdout: orders})
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--type", "order"), apptest.Result{Stdout: orders, Stderr: "" +
		"fold-watch: warning: consumer \"mail\": what an earlier run delivered was never confirmed: delivering it again\n" +
		"fold-watch: hint: confirm a run whose records were handled with: fold-watch --checkpoint mail --commit (or use --exec CMD)\n"})
	wantListed(t, fw, `"kind":"consumer","name":"mail","behind":2,"pending":2`)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--commit"), apptest.Result{})
	wantListed(t, fw, `"kind":"consumer","name":"mail","behind":0,"pending":0`)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--commit"), apptest.Result{Code: 1, Stderr: "" +
		"fold-watch: error: consumer \"mail\": nothing to confirm: no run delivered anything since the last confirmation, or the last run did not finish\n" +
		"fold-watch: hint: nothing is lost: the next run delivers again everything not confirmed\n"})
	// A run with nothing new to deliver may be confirmed, so that
	// `fold-watch --checkpoint mail | mailer && fold-watch --checkpoint mail --commit`
	// succeeds in a quiet minute.
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--type", "order"), apptest.Result{})
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--commit"), apptest.Result{})
	// What comes later is delivered from the confirmed position on.
	next := apptest.Inject(t, root, strings.ReplaceAll(confirmed, "Confirmed", "Shipped"))
	wantListed(t, fw, `"kind":"consumer","name":"mail","behind":1,"pending":0`)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--type", "order"), apptest.Result{Stdout: next})
}

// wantListed checks that fold-watch consumers lists a line holding want.
func wantListed(t *testing.T, fw apptest.Program, want string) {
	t.Helper()
	r := fw.Run(t, "", "consumers")
	if r.Code != 0 || r.Stderr != "" || !strings.Contains(r.Stdout, want) {
		t.Errorf("fold-watch consumers: want a line with %s\n%s", want, r)
	}
	apptest.Lines(t, r.Stdout) // JSON lines, since stdout is not a terminal
}

// --at-most-once takes writing for delivery: no second step, and nothing
// delivered twice; -n stops a durable consumer where the next run resumes.
func TestAtMostOnce(t *testing.T) {
	t.Parallel()
	fw, _, recs := foldWatch(t)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--at-most-once", "-n", "1"), apptest.Result{Stdout: recs[0]})
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--at-most-once"), apptest.Result{Stdout: recs[2] + recs[1]})
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--at-most-once"), apptest.Result{})
}

// --exec confirms by its exit status: 0 moves the checkpoint, 75 asks for
// a later run (exit 75), any other failure is exit 1; what was not
// confirmed is delivered again.
func TestExec(t *testing.T) {
	t.Parallel()
	fw, _, recs := foldWatch(t)
	const hint = "fold-watch: hint: what was not confirmed is delivered again by the next run\n"
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--exec", "cat >/dev/null; exit 75"), apptest.Result{Code: 75,
		Stderr: "fold-watch: error: --exec \"cat >/dev/null; exit 75\" exited with status 75: a batch of 3 line(s) was not confirmed\n" + hint})
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--exec", "cat >/dev/null; exit 1"), apptest.Result{Code: 1,
		Stderr: "fold-watch: error: --exec \"cat >/dev/null; exit 1\" exited with status 1: a batch of 3 line(s) was not confirmed\n" + hint})
	// The command's stdout is fold-watch's, and FOLD_ROOT names the root.
	out := filepath.Join(t.TempDir(), "out")
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--exec", `tee `+apptest.Sh(out)+` | wc -l; test -d "$FOLD_ROOT"`),
		apptest.Result{Stdout: "3\n"})
	if b, err := os.ReadFile(out); err != nil || string(b) != recs[0]+recs[2]+recs[1] {
		t.Errorf("--exec read %q (%v); want the three records", b, err)
	}
	// Confirmed: nothing to deliver, and the command is not even run.
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "m", "--exec", "echo ran"), apptest.Result{})
}

// A name another run holds: exit 75 after --lock-timeout, or 0 and silent
// with --if-busy=skip; --commit waits for it the same way.
func TestBusy(t *testing.T) {
	t.Parallel()
	fw, root, _ := foldWatch(t)
	lock, release := apptest.HoldConsumer(t, root, consumer.Watch, "mail")
	busy := apptest.Result{Code: 75, Stderr: "" +
		"fold-watch: error: consumer \"mail\" is in use: lock " + record.Quote(lock) + " is held by another run (waited 50ms)\n" +
		"fold-watch: hint: wait for the other run to end, give a longer --lock-timeout, or --if-busy=skip to skip quietly\n"}
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--lock-timeout", "50ms"), busy)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--commit", "--lock-timeout", "50ms"), busy)
	apptest.Check(t, fw.Run(t, "", "--checkpoint", "mail", "--if-busy=skip"), apptest.Result{})
	release()
	if r := fw.Run(t, "", "--checkpoint", "mail", "--lock-timeout", "50ms"); r.Code != 0 || r.Stdout == "" {
		t.Errorf("once the name is free, the run delivers:\n%s", r)
	}
}
