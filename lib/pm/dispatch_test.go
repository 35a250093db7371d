package pm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// The test binary doubles as the target aggregate's handler: run with
// FOLD_PM_TEST_HANDLER set, it serves "Do" (→ Done) and refuses "Refuse".
func TestMain(m *testing.M) {
	if os.Getenv("FOLD_PM_TEST_REACT") != "" {
		// One command per record, as a saga step is.
		err := handler.ServeProcessManager(os.Stdin, os.Stdout, func(n int, rec record.Record) (int, []record.Envelope) {
			return n + 1, []record.Envelope{{AggregateType: "target", InstanceID: rec.InstanceID, Command: record.RawMessage(`{"type":"Do"}`)}}
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv("FOLD_PM_TEST_HANDLER") != "" {
		agg := handler.Aggregate[struct{}, struct{ Type string }]{
			Decide: func(_ struct{}, c struct{ Type string }) ([]handler.Event, error) {
				if c.Type == "Do" {
					return []handler.Event{{Type: "Done"}}, nil
				}
				return nil, errors.New("refused " + c.Type)
			},
			Evolve: func(s struct{}, _ handler.Event) struct{} { return s },
		}
		if err := handler.ServeAggregate(os.Stdin, os.Stdout, agg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// engine runs commands for aggregate type "target" on a fresh root.
func engine(t *testing.T) (*exec.Engine, store.Root) {
	t.Helper()
	root := store.Open(t.TempDir())
	cfg := handler.Config{Command: fmt.Sprintf("%q -test.run=^$", os.Args[0]), Env: []string{"FOLD_PM_TEST_HANDLER=1"}, Stderr: os.Stderr}
	pools := map[string]*handler.Pool{"target": handler.NewPool(cfg, 2)}
	eng := exec.New(exec.Config{Store: root, Routes: pools, Jobs: 2, Sync: exec.SyncNone})
	t.Cleanup(func() {
		eng.Close()
		exec.ClosePools(pools)
	})
	return eng, root
}

// commandsFor answers each react request with the same commands, for the
// instance named after the record.
func commandsFor(cmds ...string) handler.Caller {
	return callerFunc(func(req []byte) []byte {
		var r struct{ Records []record.Record }
		if err := record.Unmarshal(req, &r); err != nil {
			panic(err)
		}
		id := r.Records[0].InstanceID
		out := make([]string, len(cmds))
		for i, c := range cmds {
			out[i] = strings.ReplaceAll(c, "ID", id)
		}
		return []byte(`{"state":{"seen":true},"commands":[` + strings.Join(out, ",") + `]}`)
	})
}

func TestDispatchRunsCommandsAndDeadLettersFailures(t *testing.T) {
	eng, root := engine(t)
	h := commandsFor(
		`{"aggregate_type":"target","instance_id":"ID","command":{"type":"Do"}}`,
		`{"aggregate_type":"target","instance_id":"ID","command":{"type":"Refuse"}}`,
		`{"aggregate_type":"nowhere","instance_id":"ID","command":{"type":"Do"}}`,
	)
	run := func() (*Dispatcher, *bytes.Buffer, *memLetters, []Failure) {
		j := &journal{}
		var out bytes.Buffer
		d := NewDispatcher(eng, &out, nil)
		letters := &memLetters{j: j}
		var reported []Failure
		m := New(Config{Name: "test", Handler: h, Sink: d, Checkpoint: &saver{j: j}, DeadLetters: letters,
			OnDeadLetter: func(f Failure) { reported = append(reported, f) }}, record.Checkpoint{})
		if err := m.Run(context.Background(), batches([]record.Record{rec("a", 1, "null"), rec("b", 1, "null")})); err != nil {
			t.Fatal(err)
		}
		return d, &out, letters, reported
	}

	d, out, letters, reported := run()
	var got []string
	for line := range bytes.Lines(out.Bytes()) {
		r, err := record.ParseRecord(bytes.TrimSpace(line))
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := record.ParseEvent(r.Event)
		got = append(got, fmt.Sprintf("%s %d %s %s %s", r.Stream(), r.Version, ev.Type, ev.Actor, ev.Meta))
	}
	want := []string{
		`target/a 1 Done fold-pm:test {"command_id":"fold-pm:test/order/a/1/0"}`,
		`target/b 1 Done fold-pm:test {"command_id":"fold-pm:test/order/b/1/0"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Appended() != 2 {
		t.Errorf("appended = %d", d.Appended())
	}
	var kinds []string
	for _, f := range reported {
		kinds = append(kinds, fmt.Sprintf("%s %s", f.Origin.Stream.ID+fmt.Sprint(f.Origin.Index), f.Kind))
	}
	if strings.Join(kinds, ",") != "a1 rejected,a2 unknown_type,b1 rejected,b2 unknown_type" {
		t.Errorf("dead letters reported: %q", kinds)
	}
	if len(letters.letters) != 4 || !strings.Contains(letters.letters[1].Error, `no handler for aggregate_type "nowhere"`) {
		t.Errorf("letters: %+v", letters.letters)
	}
	var env record.Envelope
	if err := record.Unmarshal(letters.letters[0].Envelope, &env); err != nil || env.CommandID != "fold-pm:test/order/a/1/1" {
		t.Errorf("dead letter envelope %s: %v", letters.letters[0].Envelope, err)
	}

	// Reacting to the same records again (a crash before the checkpoint)
	// appends nothing twice: the Do commands are duplicates, which are
	// not failures.
	_, out, letters, _ = run()
	if out.Len() != 0 {
		t.Errorf("rerun printed %s", out.Bytes())
	}
	for _, l := range letters.letters {
		if strings.Contains(l.Error, "already recorded") {
			t.Errorf("a duplicate was dead-lettered: %+v", l)
		}
	}
	if n := logLines(t, root, "a"); n != 1 {
		t.Errorf("target/a holds %d events, want 1", n)
	}
}

func logLines(t *testing.T, root store.Root, id string) int {
	t.Helper()
	b, err := os.ReadFile(root.LogPath(record.StreamID{Type: "target", ID: id}))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte{'\n'})
}

// appendingSubmitter appends a line to the letters file on the first
// Submit: another writer (fold-exec --rejects) while Retry works.
type appendingSubmitter struct {
	Submitter
	path string
	done bool
}

func (a *appendingSubmitter) Submit(ctx context.Context, env record.Envelope) *exec.Pending {
	if !a.done {
		a.done = true
		f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			panic(err)
		}
		fmt.Fprintln(f, `{"envelope":{"aggregate_type":"late","instance_id":"x","command":{}},"error":"late","ts":1}`)
		f.Close()
	}
	return a.Submitter.Submit(ctx, env)
}

func TestRetryKeepsOnlyWhatFailsAgain(t *testing.T) {
	eng, root := engine(t)
	// One command applied before: its letter is a duplicate now.
	applied := record.Envelope{AggregateType: "target", InstanceID: "a", Command: record.RawMessage(`{"type":"Do"}`), CommandID: "c-applied"}
	if res := eng.Submit(context.Background(), applied).Wait(); res.Failure != nil {
		t.Fatal(res.Failure)
	}
	l := LettersAt(filepath.Join(root.Dir, "process_managers", "test"))
	letter := func(env, why string) record.DeadLetter {
		return record.DeadLetter{Envelope: record.RawMessage(env), Error: why, Ts: 1}
	}
	if err := l.Append([]record.DeadLetter{
		letter(`{"aggregate_type":"target","instance_id":"b","command":{"type":"Do"},"command_id":"c-b"}`, "no handler"),
		letter(`{"aggregate_type":"target","instance_id":"a","command":{"type":"Do"},"command_id":"c-applied"}`, "lock_timeout"),
		letter(`{"aggregate_type":"target","instance_id":"c","command":{"type":"Refuse"}}`, "refused before"),
		letter(`"not json at all {"`, "malformed"),
	}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `garbage line`)
	f.Close()

	var outcomes []string
	now := func() time.Time { return time.Unix(42, 0) }
	kept, err := Retry(context.Background(), l, &appendingSubmitter{Submitter: eng, path: l.Path}, now, func(o RetryOutcome) error {
		s := fmt.Sprintf("line %d: %d records", o.Letter.Line, len(o.Records))
		if o.Duplicate {
			s += " duplicate"
		}
		if o.Failure != nil {
			s += " " + string(o.Failure.Kind)
		}
		outcomes = append(outcomes, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "line 1: 1 records|line 2: 0 records duplicate|line 3: 0 records rejected|line 4: 0 records invalid_input|line 5: 0 records invalid_input"
	if strings.Join(outcomes, "|") != want {
		t.Errorf("outcomes:\n%s\nwant:\n%s", strings.Join(outcomes, "|"), want)
	}
	if kept != 4 {
		t.Errorf("kept = %d, want 4 (refused, not JSON, garbage, late)", kept)
	}
	left, _, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, lt := range left {
		lines = append(lines, string(lt.Raw))
	}
	wantLines := []string{
		`{"envelope":{"aggregate_type":"target","instance_id":"c","command":{"type":"Refuse"}},"error":"target/c rejected the command: refused Refuse","ts":42}`,
		`{"envelope":"not json at all {","error":"expected a JSON object, got \"\\\"not json at all {\\\"\"","ts":42}`,
		`garbage line`,
		`{"envelope":{"aggregate_type":"late","instance_id":"x","command":{}},"error":"late","ts":1}`,
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("file after retry:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if n := logLines(t, root, "a"); n != 1 {
		t.Errorf("target/a holds %d events, want 1", n)
	}
	if n := logLines(t, root, "b"); n != 1 {
		t.Errorf("target/b holds %d events, want 1", n)
	}
}

func TestRetryWithoutLettersWritesNothing(t *testing.T) {
	eng, root := engine(t)
	l := LettersAt(filepath.Join(root.Dir, "process_managers", "none"))
	kept, err := Retry(context.Background(), l, eng, nil, func(RetryOutcome) error { return nil })
	if err != nil || kept != 0 {
		t.Fatalf("kept %d, err %v", kept, err)
	}
	if _, err := os.Stat(l.Path); !os.IsNotExist(err) {
		t.Errorf("Retry created %s", l.Path)
	}
}

// failingSubmitter fails every command with kind.
type failingSubmitter struct{ kind exec.Kind }

func (f failingSubmitter) Submit(context.Context, record.Envelope) *exec.Pending {
	return exec.Done(&exec.Failure{Kind: f.kind, Err: errors.New("disk on fire")})
}

// An unusable root is not the command's fault: it is not dead-lettered,
// and the checkpoint stays where it was, so the next run sends it again.
func TestDispatchIOFailureStopsWithoutSaving(t *testing.T) {
	j := &journal{}
	s, letters := &saver{j: j}, &memLetters{j: j}
	m := New(Config{Name: "test", Handler: commandsFor(`{"aggregate_type":"target","instance_id":"ID","command":{"type":"Do"}}`),
		Sink: NewDispatcher(failingSubmitter{exec.KindIO}, io.Discard, nil), Checkpoint: s, DeadLetters: letters}, record.Checkpoint{})
	err := m.Run(context.Background(), batches([]record.Record{rec("a", 1, "null"), rec("b", 1, "null")}))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if s.saves != 0 || len(letters.letters) != 0 {
		t.Errorf("saves %d, letters %+v", s.saves, letters.letters)
	}
}
