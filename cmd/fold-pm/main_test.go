package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/app/apptest"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Events of the saga example, with their ts.
const (
	stocked  = `{"aggregate_type":"inventory","instance_id":"widget","event":{"type":"Stocked","data":{"qty":5},"ts":1764446300}}`
	placed1  = `{"aggregate_type":"order","instance_id":"o-1","event":{"type":"Placed","data":{"sku":"widget","qty":2},"ts":1764446400}}`
	placed2  = `{"aggregate_type":"order","instance_id":"o-2","event":{"type":"Placed","data":{"sku":"gadget","qty":1},"ts":1764446401}}`
	placed0  = `{"aggregate_type":"order","instance_id":"o-3","event":{"type":"Placed","data":{"sku":"widget","qty":0},"ts":1764446402}}`
	reserve1 = `{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Reserve","data":{"order_id":"o-1","qty":2}},"context":{"actor":"fold-pm:fulfil"},"command_id":"fold-pm:fulfil/order/o-1/1/0"}` + "\n"
	reserve2 = `{"aggregate_type":"inventory","instance_id":"gadget","command":{"type":"Reserve","data":{"order_id":"o-2","qty":1}},"context":{"actor":"fold-pm:fulfil"},"command_id":"fold-pm:fulfil/order/o-2/1/0"}` + "\n"
)

// foldPM is fold-pm over a fresh root holding events; recs are their
// records, as fold-exec printed them.
func foldPM(t *testing.T, events ...string) (pm apptest.Program, root, recs string) {
	env := apptest.RootEnv(t)
	root = env["FOLD_ROOT"]
	if len(events) > 0 {
		recs = apptest.Inject(t, root, events...)
	}
	return apptest.Program{Name: "fold-pm", New: newApp, Env: env}, root, recs
}

// fulfil is the flags of the saga's process manager, as a run takes them,
// reacting to the records of order and inventory.
func fulfil(t *testing.T, more ...string) []string {
	return fulfilOf(t, "order,inventory", more...)
}

// fulfilOf is fulfil reacting to the records of the types subscribe names.
func fulfilOf(t *testing.T, subscribe string, more ...string) []string {
	return append([]string{"--name", "fulfil", "--subscribe", subscribe, "--handler", apptest.JQ(t, "examples/saga/fulfil.jq")}, more...)
}

func inventory(t *testing.T) string {
	return "inventory=sh " + apptest.Sh(apptest.Repo(t, "examples/saga/inventory.sh"))
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	pm, _, _ := foldPM(t)
	const name = "fold-pm: error: --name is required\nfold-pm: hint: name the process manager: its files are in process_managers/NAME/\n"
	run := []string{"--name", "f", "--subscribe", "order", "--handler", "x"}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, name},
		{[]string{"--name", "f"}, "fold-pm: error: --subscribe is required\nfold-pm: hint: name the aggregate types whose events the process manager reacts to, e.g. --subscribe order,inventory\n"},
		{[]string{"--name", "f", "--subscribe", "order"}, "fold-pm: error: no handler given for the process manager\nfold-pm: hint: give --handler CMD, e.g. --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq'\n"},
		{append(run, "--handler", "y"), "fold-pm: error: --handler \"y\": more than one handler without a type\nfold-pm: hint: the process manager has one handler (CMD); aggregate handlers are TYPE=CMD, with --dispatch\n"},
		{append(run, "--handler", "order=y"), "fold-pm: error: --handler order=…: aggregate handlers run commands, which needs --dispatch\nfold-pm: hint: add --dispatch, or pipe the envelopes into fold-exec\n"},
		{append(run, "--dispatch"), "fold-pm: error: --dispatch needs aggregate handlers\nfold-pm: hint: give --handler TYPE=CMD for each aggregate type the commands go to\n"},
		{append(run, "--dispatch", "--handler", "order=y", "--exec", "cat"), "fold-pm: error: --exec is for commands printed for a downstream: with --dispatch fold-pm runs them and confirms by itself\n"},
		{append(run, "--dispatch", "--handler", "order=y", "--at-most-once"), "fold-pm: error: --at-most-once is for commands printed for a downstream: with --dispatch fold-pm runs them and confirms by itself\n"},
		{append(run, "--sync", "each"), "fold-pm: error: --sync is a flag of --dispatch: without it fold-pm runs no commands\n"},
		{append(run, "--batch", "0"), "fold-pm: error: --batch 0 is not a positive number\n"},
		{append(run, "--poll", "1s"), "fold-pm: error: --poll needs --follow and the root (not --stdin)\n"},
		{append(run, "--exec="), "fold-pm: error: --exec needs a command\n"},
		{append(run, "--subscibe", "x"), "fold-pm: error: unknown flag --subscibe\nfold-pm: hint: did you mean --subscribe?\n"},
		{[]string{"dead-letters"}, name},
		{[]string{"dead-letters", "--name", "f", "extra"}, "fold-pm: error: unexpected argument \"extra\"\n"},
		{[]string{"retry", "--name", "f"}, "fold-pm: error: no handler given\nfold-pm: hint: give --handler TYPE=CMD for each aggregate type the dead letters go to\n"},
		{[]string{"retry", "--name", "f", "--handler", "x"}, "fold-pm: error: --handler \"x\" has no aggregate type\nfold-pm: hint: retry runs commands: give --handler TYPE=CMD for each aggregate type they go to\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			apptest.Check(t, pm.Run(t, "", tc.args...), apptest.Result{Code: 2, Stderr: tc.stderr})
		})
	}
}

// A process manager never run has no dead letters to show or retry: more
// likely a typo than an empty file.
func TestUnknownName(t *testing.T) {
	t.Parallel()
	pm, root, _ := foldPM(t, stocked)
	want := apptest.Result{Code: 1, Stderr: "fold-pm: error: no process manager \"f\" in root " + record.Quote(root) +
		"\nfold-pm: hint: check --name and --root (or $FOLD_ROOT)\n"}
	apptest.Check(t, pm.Run(t, "", "dead-letters", "--name", "f"), want)
	apptest.Check(t, pm.Run(t, "", "retry", "--name", "f", "--handler", "order=x"), want)
}

func TestNoStore(t *testing.T) {
	t.Parallel()
	pm, root, _ := foldPM(t)
	apptest.Check(t, pm.Run(t, "", fulfil(t)...), apptest.Result{
		Stderr: "fold-pm: warning: no store at " + record.Quote(root) + "\nfold-pm: hint: check --root and $FOLD_ROOT (readers never create a store)\n"})
	apptest.WantNoRoot(t, root)
}

// The commands a run prints, each with its deterministic command_id, are
// printed again by every run until --commit confirms them.
func TestEnvelopesUntilCommit(t *testing.T) {
	t.Parallel()
	pm, root, _ := foldPM(t, stocked, placed1, placed2)
	apptest.Check(t, pm.Run(t, "", fulfil(t)...), apptest.Result{Stdout: reserve1 + reserve2})
	apptest.Check(t, pm.Run(t, "", fulfil(t)...), apptest.Result{Stdout: reserve1 + reserve2, Stderr: "" +
		"fold-pm: warning: process manager \"fulfil\": what an earlier run delivered was never confirmed: delivering it again\n" +
		"fold-pm: hint: confirm a run whose commands were executed with: fold-pm --name fulfil --commit (or use --exec CMD, or --dispatch)\n"})
	apptest.Check(t, pm.Run(t, "", "--name", "fulfil", "--commit"), apptest.Result{})
	apptest.Check(t, pm.Run(t, "", fulfil(t)...), apptest.Result{})
	apptest.Check(t, pm.Run(t, "", "--name", "fulfil", "--commit"), apptest.Result{})
	apptest.Check(t, pm.Run(t, "", "--name", "fulfil", "--commit"), apptest.Result{Code: 1, Stderr: "" +
		"fold-pm: error: process manager \"fulfil\": nothing to confirm: no run delivered anything since the last confirmation, or the last run did not finish\n" +
		"fold-pm: hint: nothing is lost: the next run delivers again everything not confirmed\n"})
	// The process manager's state is kept across runs.
	apptest.Inject(t, root, strings.ReplaceAll(placed1, "o-1", "o-4"))
	apptest.Check(t, pm.Run(t, "", fulfil(t)...), apptest.Result{Stdout: strings.ReplaceAll(reserve1, "o-1", "o-4")})
	cp, found, err := consumer.Saved(consumer.Dir(store.Open(root), consumer.ProcessManager, "fulfil"))
	if err != nil || !found || string(cp.State) != `{"placed":2,"confirmed":0,"cancelled":0}` {
		t.Errorf("saved state %s (found %v, %v); want 2 placed, as confirmed", cp.State, found, err)
	}
}

// --exec confirms by its exit status; --dry-run shows and saves nothing.
func TestExecAndDryRun(t *testing.T) {
	t.Parallel()
	pm, _, _ := foldPM(t, stocked, placed1, placed2)
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--dry-run")...), apptest.Result{Stdout: reserve1 + reserve2})
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--exec", "cat >/dev/null; exit 75")...), apptest.Result{Code: 75, Stderr: "" +
		"fold-pm: error: --exec \"cat >/dev/null; exit 75\" exited with status 75: a batch of 2 line(s) was not confirmed\n" +
		"fold-pm: hint: what was not confirmed is delivered again by the next run\n"})
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--exec", "cat")...), apptest.Result{Stdout: reserve1 + reserve2})
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--exec", "cat")...), apptest.Result{})
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--dry-run")...), apptest.Result{})
}

// Records from stdin, as from fold-watch: the same commands.
func TestStdin(t *testing.T) {
	t.Parallel()
	pm, _, recs := foldPM(t, stocked, placed1, placed2)
	apptest.Check(t, pm.Run(t, recs+"nope\n", fulfil(t, "--stdin")...), apptest.Result{Code: 1, Stdout: reserve1 + reserve2,
		Stderr: "fold-pm: error: line 4: malformed JSON \"nope\": invalid character 'o' in literal null (expecting 'u')\n"})
}

// --dispatch runs the commands in-process and prints the records they
// append; a command rejected is dead-lettered (exit 1), shown by
// dead-letters, and sent again by retry.
func TestDispatch(t *testing.T) {
	t.Parallel()
	pm, root, _ := foldPM(t, stocked, placed1, placed2, placed0)
	letters := filepath.Join(consumer.Dir(store.Open(root), consumer.ProcessManager, "fulfil"), "dead_letters.jsonl")
	// An inventory that refuses every command. Its state is not the real
	// handler's, so none is kept in a snapshot: a snapshot is not tied to
	// the handler that made it, and retry would start from it.
	closed := `inventory=jq --unbuffered -c 'if .op == "handle" then {error: "closed"} else {state: null} end'`
	r := pm.Run(t, "", fulfilOf(t, "order", "--dispatch", "--handler", closed, "--snapshot-every", "0")...)
	apptest.Check(t, r, apptest.Result{Code: 1, Stderr: "" +
		"fold-pm: error: \"order/o-1\" version 1, command 0: inventory/widget rejected the command: closed\n" +
		"fold-pm: error: \"order/o-2\" version 1, command 0: inventory/gadget rejected the command: closed\n" +
		"fold-pm: error: \"order/o-3\" version 1, command 0: inventory/widget rejected the command: closed\n" +
		"fold-pm: hint: 3 command(s) dead-lettered in " + record.Quote(letters) + ": fold-pm retry --name fulfil --handler TYPE=CMD sends them again\n"})
	// Dispatching confirms by itself: the next run has nothing to do.
	apptest.Check(t, pm.Run(t, "", fulfilOf(t, "order", "--dispatch", "--handler", closed, "--snapshot-every", "0")...), apptest.Result{})

	r = pm.Run(t, "", "dead-letters", "--name", "fulfil")
	if r.Code != 0 || r.Stderr != "" || len(apptest.Lines(t, r.Stdout)) != 3 {
		t.Errorf("want the 3 dead letters:\n%s", r)
	}
	// Retried through the real handler: o-1 reserves, o-2 fails for want
	// of stock (an event), o-3's qty 0 is rejected again and stays.
	r = pm.Run(t, "", "retry", "--name", "fulfil", "--handler", inventory(t))
	if want := "" +
		"fold-pm: error: dead letter on line 3: inventory/widget rejected the command: Reserve needs an order_id and a whole qty of at least 1\n" +
		"fold-pm: hint: 1 dead letter(s) remain in " + record.Quote(letters) + "\n"; r.Code != 1 || r.Stderr != want {
		t.Errorf("want exit 1 and\n%s\n%s", want, r)
	}
	// The records dispatching with the real handler would have appended.
	apptest.Golden(t, "testdata/dispatch.jsonl", apptest.Scrub(r.Stdout))
	r = pm.Run(t, "", "dead-letters", "--name", "fulfil")
	if l := apptest.Lines(t, r.Stdout); r.Code != 0 || len(l) != 1 || l[0]["envelope"].(map[string]any)["command_id"] != "fold-pm:fulfil/order/o-3/1/0" {
		t.Errorf("want o-3's letter alone:\n%s", r)
	}
}

// Commands keep their ids when a process manager reacts again (--rebuild):
// what already took effect is dropped, so the effect is exactly once.
func TestRebuildExactlyOnce(t *testing.T) {
	t.Parallel()
	pm, _, _ := foldPM(t, stocked, placed1, placed2)
	dispatch := fulfilOf(t, "order", "--dispatch", "--handler", inventory(t))
	r := pm.Run(t, "", dispatch...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatal(r)
	}
	apptest.Golden(t, "testdata/dispatch.jsonl", apptest.Scrub(r.Stdout))
	apptest.Check(t, pm.Run(t, "", append(dispatch, "--rebuild")...), apptest.Result{})
}

// The saga's handlers in Go, one binary for every role: the same commands
// as fulfil.jq, with --batch too (the SDK tags each command with its
// record), and the same records as inventory.sh.
func TestSagaInGo(t *testing.T) {
	t.Parallel()
	pm, _, _ := foldPM(t, stocked, placed1, placed2)
	saga := apptest.Sh(apptest.Build(t, "github.com/fold-es/fold/examples/saga/go"))
	run := []string{"--name", "fulfil", "--subscribe", "order", "--handler", saga}
	apptest.Check(t, pm.Run(t, "", append(run, "--batch", "3", "--dry-run")...), apptest.Result{Stdout: reserve1 + reserve2})
	r := pm.Run(t, "", append(run, "--dispatch", "--handler", "inventory="+saga)...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatal(r)
	}
	apptest.Golden(t, "testdata/dispatch.jsonl", apptest.Scrub(r.Stdout))
}

// The handler failing on a record: exit 1, and the checkpoint stops
// before it.
func TestHandlerFails(t *testing.T) {
	t.Parallel()
	pm, _, _ := foldPM(t, stocked, placed1, placed2)
	boom := `read l; echo '{"error":"boom"}'`
	apptest.Check(t, pm.Run(t, "", "--name", "fulfil", "--subscribe", "order", "--handler", boom), apptest.Result{Code: 1, Stderr: "" +
		`fold-pm: error: react to "order/o-1" version 1: handler "read l; echo '{\"error\":\"boom\"}'" answered "react" with an error: "boom"` + "\n" +
		"fold-pm: hint: the checkpoint stops before this record: fix the handler and run again\n"})
	// The next run reacts to o-1 again. (It also warns that the handler
	// changed, and that the failed run's empty delivery was not
	// confirmed.)
	r := pm.Run(t, "", fulfilOf(t, "order")...)
	if r.Code != 0 || r.Stdout != reserve1+reserve2 || !strings.Contains(r.Stderr, "fold-pm: warning: process manager \"fulfil\": the handler changed since the last run") {
		t.Errorf("want both commands, and a warning that the handler changed:\n%s", r)
	}
}

func TestBusy(t *testing.T) {
	t.Parallel()
	pm, root, _ := foldPM(t, stocked, placed1, placed2)
	lock, _ := apptest.HoldConsumer(t, root, consumer.ProcessManager, "fulfil")
	busy := apptest.Result{Code: 75, Stderr: "" +
		"fold-pm: error: process manager \"fulfil\" is in use: lock " + record.Quote(lock) + " is held by another run (waited 50ms)\n" +
		"fold-pm: hint: wait for the other run to end, give a longer --lock-timeout, or --if-busy=skip to skip quietly\n"}
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--lock-timeout", "50ms")...), busy)
	apptest.Check(t, pm.Run(t, "", "--name", "fulfil", "--commit", "--lock-timeout", "50ms"), busy)
	apptest.Check(t, pm.Run(t, "", "retry", "--name", "fulfil", "--handler", "order=x", "--lock-timeout", "50ms"), busy)
	apptest.Check(t, pm.Run(t, "", fulfil(t, "--if-busy=skip")...), apptest.Result{})
}
