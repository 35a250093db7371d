package pm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// journal records what happened, in order, across the fakes.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// fakePM is a process manager handler: its state counts the records it saw,
// and it returns commands records ask for in their event's data
// ({"n":N}: N commands), or fails on a record whose data says "fail".
type fakePM struct{ j *journal }

func (f *fakePM) Name() string { return `handler "fake"` }

func (f *fakePM) Call(_ context.Context, req []byte) ([]byte, error) {
	var r struct {
		Op      string          `json:"op"`
		Name    string          `json:"name"`
		State   *int            `json:"state"`
		Records []record.Record `json:"records"`
	}
	if err := record.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	if r.Op != "react" || r.Name != "test" || len(r.Records) != 1 {
		return nil, fmt.Errorf("bad request %s", req)
	}
	rec := r.Records[0]
	f.j.add("react %s/%d", rec.Stream(), rec.Version)
	var ev struct {
		Data struct {
			N    int  `json:"n"`
			Fail bool `json:"fail"`
		} `json:"data"`
	}
	if err := record.Unmarshal(rec.Event, &ev); err != nil {
		return nil, err
	}
	if ev.Data.Fail {
		return nil, errors.New("handler failed")
	}
	state := 1
	if r.State != nil {
		state = *r.State + 1
	}
	var cmds []string
	for i := range ev.Data.N {
		cmds = append(cmds, fmt.Sprintf(`{"aggregate_type":"target","instance_id":"%s-%d-%d","command":{"type":"Do"}}`, rec.InstanceID, rec.Version, i))
	}
	return fmt.Appendf(nil, `{"state":%d,"commands":[%s]}`, state, strings.Join(cmds, ",")), nil
}

// writer journals the command_ids of each write that reaches it, that is,
// of each flush of the Emitter's buffer.
type writer struct {
	j   *journal
	err error
	out bytes.Buffer
}

// Confirm confirms at once, as a pipe does.
func (w *writer) Confirm() error { return nil }

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	var ids []string
	for line := range bytes.Lines(p) {
		env, err := record.ParseEnvelope(bytes.TrimSpace(line), record.EnvelopeDefaults{})
		if err != nil {
			return 0, err
		}
		ids = append(ids, env.CommandID)
	}
	w.j.add("write %s", strings.Join(ids, " "))
	w.out.Write(p)
	return len(p), nil
}

// saver journals each checkpoint saved and keeps the last. It saves what
// it is given at once, as a consumer.Consumer does with SaveEvery zero.
type saver struct {
	j     *journal
	last  record.Checkpoint
	saves int
	fail  int // fail the save with this number (1-based); 0 never
	dirty bool
}

func (s *saver) Moved(cp record.Checkpoint) error {
	s.dirty = true
	return s.save(cp)
}

func (s *saver) Save() error { return nil }

func (s *saver) save(cp record.Checkpoint) error {
	s.saves++
	if s.saves == s.fail {
		return errors.New("disk full")
	}
	keys := slices.Sorted(maps.Keys(cp.Cursors))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s@%d", k, cp.Cursors[k].Offset))
	}
	s.j.add("save %s state %s", strings.Join(parts, " "), cp.State)
	s.last = record.Checkpoint{State: slices.Clone(cp.State), Cursors: maps.Clone(cp.Cursors)}
	return nil
}

type memLetters struct {
	j       *journal
	letters []record.DeadLetter
}

func (m *memLetters) Append(ls []record.DeadLetter) error {
	for _, l := range ls {
		m.j.add("dead letter %s", l.Error)
	}
	m.letters = append(m.letters, ls...)
	return nil
}

// rec is a record of stream order/id at version v; data is its event's data.
func rec(id string, v uint64, data string) record.Record {
	return record.Record{AggregateType: "order", InstanceID: id, Version: v, Offset: int64(v) * 100, Hash: fmt.Sprintf("h%d", v),
		Event: record.RawMessage(`{"type":"Happened","data":` + data + `,"ts":1}`)}
}

// batches is a Feed delivering fixed batches, skipping nothing: the
// Manager itself must skip what its cursors cover.
func batches(bs ...[]record.Record) Feed {
	return func(ctx context.Context, _ map[string]record.Cursor, fn func(watch.Batch) error) error {
		for i, b := range bs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(watch.Batch{Records: b, Idle: i == len(bs)-1}); err != nil {
				return err
			}
		}
		return nil
	}
}

type rig struct {
	j       *journal
	w       *writer
	s       *saver
	letters *memLetters
	m       *Manager
}

func newRig(cp record.Checkpoint) *rig {
	j := &journal{}
	r := &rig{j: j, w: &writer{j: j}, s: &saver{j: j}, letters: &memLetters{j: j}}
	r.m = New(Config{Name: "test", Types: []string{"order"}, Handler: &fakePM{j: j}, Sink: NewEmitter(r.w),
		Checkpoint: r.s, DeadLetters: r.letters}, cp)
	return r
}

var twoBatches = [][]record.Record{
	{rec("a", 1, `{"n":1}`), rec("b", 1, `{"n":2}`), rec("a", 2, `{"n":0}`)},
	{rec("a", 3, `{"n":1}`)},
}

func TestCommandsAreFlushedBeforeTheCheckpointThatCoversThem(t *testing.T) {
	r := newRig(record.Checkpoint{})
	if err := r.m.Run(context.Background(), batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"react order/a/1",
		"react order/b/1",
		"react order/a/2",
		"write fold-pm:test/order/a/1/0 fold-pm:test/order/b/1/0 fold-pm:test/order/b/1/1",
		"save order/a@200 order/b@100 state 3", // after every write of the batch
		"react order/a/3",
		"write fold-pm:test/order/a/3/0",
		"save order/a@300 order/b@100 state 4",
	}
	if got := r.j.all(); !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := r.m.Stats(); st.Records != 4 || st.Commands != 4 || st.DeadLetters != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSameInputTwiceEmitsNothingNew(t *testing.T) {
	r := newRig(record.Checkpoint{})
	if err := r.m.Run(context.Background(), batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	// Another run from the saved checkpoint, fed the same records (a pipe
	// replaying its input), plus one record of a type not subscribed.
	again := newRig(r.s.last)
	other := rec("z", 9, `{"n":5}`)
	other.AggregateType = "invoice"
	if err := again.m.Run(context.Background(), batches(append(slices.Concat(twoBatches...), other))); err != nil {
		t.Fatal(err)
	}
	if got := again.j.all(); len(got) != 0 {
		t.Errorf("second run did something: %q", got)
	}
	if again.w.out.Len() != 0 {
		t.Errorf("second run printed %s", again.w.out.Bytes())
	}
}

// A crash between flushing and saving (here: a save that fails, which stops
// the run as a crash would) makes the next run emit the same commands again,
// with the same ids, and nothing else: downstream dedup by command_id makes
// the effect exactly once.
func TestCrashBeforeSaveReemitsTheSameIDs(t *testing.T) {
	clean := newRig(record.Checkpoint{})
	if err := clean.m.Run(context.Background(), batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	want := ids(t, clean.w.out.Bytes())

	crashed := newRig(record.Checkpoint{})
	crashed.s.fail = 2 // the second batch's save
	if err := crashed.m.Run(context.Background(), batches(twoBatches...)); err == nil {
		t.Fatal("run did not stop at the failed save")
	}
	rerun := newRig(crashed.s.last)
	if err := rerun.m.Run(context.Background(), batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	first, second := ids(t, crashed.w.out.Bytes()), ids(t, rerun.w.out.Bytes())
	if !slices.Equal(second, []string{"fold-pm:test/order/a/3/0"}) {
		t.Errorf("rerun emitted %q, want only the unsaved batch's command", second)
	}
	union := slices.Compact(slices.Sorted(slices.Values(append(first, second...))))
	if !slices.Equal(union, slices.Sorted(slices.Values(want))) {
		t.Errorf("commands across crash and rerun %q, want %q", union, want)
	}
	if string(rerun.s.last.State) != string(clean.s.last.State) {
		t.Errorf("state after rerun %s, clean run %s", rerun.s.last.State, clean.s.last.State)
	}
}

func ids(t *testing.T, out []byte) []string {
	t.Helper()
	var ids []string
	for line := range bytes.Lines(out) {
		env, err := record.ParseEnvelope(bytes.TrimSpace(line), record.EnvelopeDefaults{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.CommandID)
	}
	return ids
}

func TestHandlerFailureSavesWhatCameBefore(t *testing.T) {
	r := newRig(record.Checkpoint{})
	err := r.m.Run(context.Background(), batches([]record.Record{rec("a", 1, `{"n":1}`), rec("a", 2, `{"fail":true}`), rec("a", 3, `{"n":1}`)}))
	var re *ReactError
	if !errors.As(err, &re) || re.Version != 2 || !strings.Contains(err.Error(), `react to "order/a" version 2: handler failed`) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		"react order/a/1",
		"react order/a/2",
		"write fold-pm:test/order/a/1/0",
		"save order/a@100 state 1",
	}
	if got := r.j.all(); !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBrokenOutputSavesNothing(t *testing.T) {
	r := newRig(record.Checkpoint{})
	r.w.err = errors.New("broken pipe")
	err := r.m.Run(context.Background(), batches(twoBatches[0]))
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("err = %v", err)
	}
	if r.s.saves != 0 {
		t.Errorf("saved %d times after the output broke", r.s.saves)
	}
}

func TestInvalidCommandsAreDeadLetteredBeforeTheSave(t *testing.T) {
	j := &journal{}
	h := callerFunc(func(req []byte) []byte {
		return []byte(`{"state":null,"commands":[{"aggregate_type":"target","command":{}},{"aggregate_type":"target","instance_id":"x","command":{}}]}`)
	})
	s, letters, w := &saver{j: j}, &memLetters{j: j}, &writer{j: j}
	var reported []Failure
	m := New(Config{Name: "test", Handler: h, Sink: NewEmitter(w), Checkpoint: s, DeadLetters: letters,
		OnDeadLetter: func(f Failure) { reported = append(reported, f) }}, record.Checkpoint{})
	if err := m.Run(context.Background(), batches([]record.Record{rec("a", 1, `null`)})); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"write fold-pm:test/order/a/1/1",
		"dead letter missing instance_id (give it in the line or with --id)",
		"save order/a@100 state null",
	}
	if got := j.all(); !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(reported) != 1 || reported[0].Kind != "invalid_input" || reported[0].Origin.Index != 0 ||
		string(letters.letters[0].Envelope) != `{"aggregate_type":"target","command":{}}` {
		t.Errorf("reported %+v, letters %+v", reported, letters.letters)
	}
	if m.Stats().DeadLetters != 1 {
		t.Errorf("stats = %+v", m.Stats())
	}
}

type callerFunc func(req []byte) []byte

func (f callerFunc) Name() string { return `handler "func"` }
func (f callerFunc) Call(_ context.Context, req []byte) ([]byte, error) {
	return f(req), nil
}

// A stop finishes the record in hand, delivers and saves, and is not an
// error.
func TestStopFinishesTheRecordInHand(t *testing.T) {
	j := &journal{}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	inner := &fakePM{j: j}
	h := callerFunc(func(req []byte) []byte {
		ans, err := inner.Call(context.Background(), req)
		if err != nil {
			t.Error(err)
		}
		cancel() // the signal arrives while the handler works on the first record
		return ans
	})
	s, w := &saver{j: j}, &writer{j: j}
	m := New(Config{Name: "test", Handler: h, Sink: NewEmitter(w), Checkpoint: s, DeadLetters: &memLetters{j: j}}, record.Checkpoint{})
	if err := m.Run(stop, batches(twoBatches...)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"react order/a/1",
		"write fold-pm:test/order/a/1/0",
		"save order/a@100 state 1",
	}
	if got := j.all(); !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// While the handler is slow on a record, the commands of the records
// before it go out (within FlushDelay), though their checkpoint waits for
// the end of the batch: what a kill -9 then leaves is commands emitted and
// not checkpointed, which the next run emits again with the same ids.
func TestCommandsGoOutWhileTheHandlerStalls(t *testing.T) {
	j := &journal{}
	w := &writer{j: j}
	inner := &fakePM{j: j}
	stalled := false
	h := callerFunc(func(req []byte) []byte {
		if bytes.Contains(req, []byte(`"instance_id":"b"`)) {
			stalled = true
			deadline := time.Now().Add(5 * time.Second)
			for !slices.Contains(j.all(), "write fold-pm:test/order/a/1/0") {
				if time.Now().After(deadline) {
					t.Error("a's command was not written while the handler stalled on b")
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		ans, err := inner.Call(context.Background(), req)
		if err != nil {
			t.Error(err)
		}
		return ans
	})
	s := &saver{j: j}
	m := New(Config{Name: "test", Handler: h, Sink: NewEmitter(w), Checkpoint: s, DeadLetters: &memLetters{j: j}}, record.Checkpoint{})
	if err := m.Run(context.Background(), batches(twoBatches[0])); err != nil {
		t.Fatal(err)
	}
	if !stalled {
		t.Fatal("the handler never saw b")
	}
	got := j.all()
	write, save := slices.Index(got, "write fold-pm:test/order/a/1/0"), slices.IndexFunc(got, func(e string) bool { return strings.HasPrefix(e, "save") })
	if write < 0 || save < write {
		t.Errorf("journal: %q", got)
	}
}

// TestLettersReadNamesBadLines: a line of the dead-letter file that is
// not a letter says why and quotes it; the line number is the reporter's.
func TestLettersReadNamesBadLines(t *testing.T) {
	l := LettersAt(t.TempDir())
	good := `{"envelope":{"aggregate_type":"a","instance_id":"1","command":{}},"error":"e","ts":1}`
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.Path, []byte(good+"\n[1]\n{\"error\":\"x\"}\n{\"envelope\":{},\"ts\":\"x\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", `not a dead letter: expected a JSON object, got "[1]"`,
		`a dead letter without an envelope: "{\"error\":\"x\"}"`, "not a dead letter: "}
	if len(got) != len(want) {
		t.Fatalf("%d letters read; want %d", len(got), len(want))
	}
	for i, lt := range got {
		msg := ""
		if lt.Err != nil {
			msg = lt.Err.Error()
		}
		if lt.Line != int64(i+1) || !strings.HasPrefix(msg, want[i]) || (want[i] == "") != (msg == "") {
			t.Errorf("line %d: %q (line %d); want %q", i+1, msg, lt.Line, want[i])
		}
	}
}
