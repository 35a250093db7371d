package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// The test binary doubles as the aggregate handler: run with
// FOLD_EXEC_TEST_HANDLER set, it serves a counter over the protocol.
func TestMain(m *testing.M) {
	if os.Getenv("FOLD_EXEC_TEST_HANDLER") != "" {
		if err := handler.ServeAggregate(os.Stdin, os.Stdout, testCounter()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type counterState struct {
	Value int `json:"value"`
}

type counterCmd struct {
	Type string `json:"type"`
	N    int    `json:"n"`
}

func testCounter() handler.Aggregate[counterState, counterCmd] {
	return handler.Aggregate[counterState, counterCmd]{
		Decide: func(s counterState, c counterCmd) ([]handler.Event, error) {
			switch c.Type {
			case "Add":
				if c.N == 0 {
					return nil, nil
				}
				return []handler.Event{{Type: "Added", Data: map[string]int{"n": c.N}}}, nil
			case "Increment":
				return []handler.Event{{Type: "Incremented"}}, nil
			case "Decrement":
				if s.Value == 0 {
					return nil, errors.New("counter is already zero, cannot decrement")
				}
				return []handler.Event{{Type: "Decremented"}}, nil
			case "Twice":
				return []handler.Event{{Type: "Incremented"}, {Type: "Incremented"}}, nil
			}
			return nil, fmt.Errorf("unknown command %q", c.Type)
		},
		Evolve: func(s counterState, ev handler.Event) counterState {
			switch ev.Type {
			case "Added":
				var d struct{ N int }
				_ = ev.Decode(&d)
				s.Value += d.N
			case "Incremented":
				s.Value++
			case "Decremented":
				s.Value--
			}
			return s
		},
	}
}

type fixture struct {
	t     *testing.T
	root  store.Root
	pools map[string]*handler.Pool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pool := handler.NewPool(handler.Config{Command: exe, Env: []string{"FOLD_EXEC_TEST_HANDLER=1"}, Timeout: 10 * time.Second, Stderr: os.Stderr}, 2)
	t.Cleanup(func() { pool.Close() })
	return &fixture{t: t, root: store.Open(t.TempDir()), pools: map[string]*handler.Pool{"counter": pool}}
}

func (fx *fixture) engine(mod func(*Config)) *Engine {
	cfg := Config{Store: fx.root, Routes: fx.pools, Sync: SyncBatch, SnapshotEvery: 100, LockTimeout: 5 * time.Second, MaxActors: 64, Jobs: 2}
	if mod != nil {
		mod(&cfg)
	}
	e := New(cfg)
	fx.t.Cleanup(func() { e.Close() })
	return e
}

func cmd(id, body string) record.Envelope {
	return record.Envelope{AggregateType: "counter", InstanceID: id, Command: record.RawMessage(body)}
}

func (fx *fixture) state(id string, at uint64) State {
	fx.t.Helper()
	st, err := ReadState(context.Background(), fx.root, fx.pools["counter"], nil, record.StreamID{Type: "counter", ID: id}, at)
	if err != nil {
		fx.t.Fatalf("read state %s: %v", id, err)
	}
	return st
}

// logVersions reads a stream and checks the lines are events in order.
func (fx *fixture) lines(id string) []string {
	fx.t.Helper()
	data, err := os.ReadFile(fx.root.LogPath(record.StreamID{Type: "counter", ID: id}))
	if err != nil {
		fx.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestCommandsAppendAndFold(t *testing.T) {
	fx := newFixture(t)
	e := fx.engine(nil)
	ctx := context.Background()
	var recs []record.Record
	for _, c := range []string{`{"type":"Increment"}`, `{"type":"Add","n":5}`, `{"type":"Twice"}`} {
		r := e.Submit(ctx, cmd("a", c)).Wait()
		if r.Failure != nil {
			t.Fatal(r.Failure)
		}
		recs = append(recs, r.Records...)
	}
	r := e.Submit(ctx, cmd("b", `{"type":"Decrement"}`)).Wait()
	if r.Failure == nil || r.Failure.Kind != KindRejected || !strings.Contains(r.Failure.Error(), "already zero") {
		t.Fatalf("decrement at zero: %+v", r)
	}
	if fx.root.HasStream(record.StreamID{Type: "counter", ID: "b"}) {
		t.Error("a rejected command on a new instance created its stream")
	}
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	lines := fx.lines("a")
	var off int64
	for i, rec := range recs {
		off += int64(len(lines[i])) + 1
		if rec.Version != uint64(i+1) || rec.Offset != off || string(rec.Event) != lines[i] || rec.Hash != record.Hash([]byte(lines[i])) {
			t.Errorf("record %d = %+v, line %q", i, rec, lines[i])
		}
	}
	if st := fx.state("a", 0); st.Version != 4 || string(st.State) != `{"value":8}` {
		t.Errorf("state = %+v", st)
	}
	if st := fx.state("a", 2); st.Version != 2 || string(st.State) != `{"value":6}` {
		t.Errorf("state at 2 = %+v", st)
	}
}

func TestContextMapsToEvent(t *testing.T) {
	fx := newFixture(t)
	e := fx.engine(nil)
	env := cmd("a", `{"type":"Increment"}`)
	env.Context = record.Context{Actor: "alice", CorrelationID: "c-1", SourceDevice: "laptop", Metadata: map[string]record.RawMessage{"k": record.RawMessage(`"v"`)}}
	env.CommandID = "cmd-1"
	r := e.Submit(context.Background(), env).Wait()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	var ev record.Event
	if err := record.Unmarshal(r.Records[0].Event, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Actor != "alice" || string(ev.Meta) != `{"correlation_id":"c-1","source_device":"laptop","k":"v","command_id":"cmd-1"}` || len(ev.ID) != 36 || string(ev.Data) != "null" {
		t.Errorf("event = %+v meta %s", ev, ev.Meta)
	}
	if !strings.HasPrefix(string(r.Records[0].Event), `{"type":"Incremented","data":null,"ts":`) {
		t.Errorf("key order differs from eventfold's: %s", r.Records[0].Event)
	}
}

func TestDuplicateAndConflictAcrossRestarts(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	env := cmd("a", `{"type":"Increment"}`)
	env.CommandID = "once"
	if r := fx.engine(nil).Submit(ctx, env).Wait(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	e2 := fx.engine(nil) // a new process, in effect: nothing cached
	if r := e2.Submit(ctx, env).Wait(); r.Failure == nil || r.Failure.Kind != KindDuplicate {
		t.Fatalf("resubmitted command_id: %+v", r)
	}
	v := uint64(0)
	stale := cmd("a", `{"type":"Increment"}`)
	stale.ExpectedVersion = &v
	if r := e2.Submit(ctx, stale).Wait(); r.Failure == nil || r.Failure.Kind != KindConflict || r.Failure.Kind.Retryable() {
		t.Fatalf("stale expected_version: %+v", r)
	}
	v = 1
	if r := e2.Submit(ctx, stale).Wait(); r.Failure != nil {
		t.Fatalf("right expected_version: %v", r.Failure)
	}
	if n := len(fx.lines("a")); n != 2 {
		t.Errorf("log has %d lines, want 2", n)
	}
}

func TestInjectSkipsKnownIDs(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := record.StreamID{Type: "counter", ID: "a"}
	ev := record.Event{Type: "Incremented", ID: "e-1"}
	if r := fx.engine(nil).Inject(ctx, id, ev).Wait(); r.Failure != nil || r.Records[0].Version != 1 {
		t.Fatal(r)
	}
	r := fx.engine(nil).Inject(ctx, id, ev).Wait()
	if r.Failure == nil || r.Failure.Kind != KindDuplicate {
		t.Fatalf("re-injected id: %+v", r)
	}
	if r := fx.engine(nil).Inject(ctx, id, record.Event{Type: "Incremented"}).Wait(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	lines := fx.lines("a")
	if len(lines) != 2 || !strings.Contains(lines[1], `"data":null,"ts":`) {
		t.Errorf("lines = %q", lines)
	}
	if st := fx.state("a", 0); string(st.State) != `{"value":2}` {
		t.Errorf("state = %s", st.State)
	}
}

// TestTwoEnginesOneInstance is two writers on one stream (each engine has
// its own descriptors, so flock excludes them as it would two processes):
// no event is lost and none decided on stale state.
func TestTwoEnginesOneInstance(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	for range 2 {
		e := fx.engine(func(c *Config) { c.Sync = SyncNone })
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ps []*Pending
			for range n {
				ps = append(ps, e.Submit(ctx, cmd("a", `{"type":"Increment"}`)))
			}
			for _, p := range ps {
				if r := p.Wait(); r.Failure != nil {
					t.Error(r.Failure)
				}
			}
		}()
	}
	wg.Wait()
	if st := fx.state("a", 0); st.Version != 2*n || string(st.State) != fmt.Sprintf(`{"value":%d}`, 2*n) {
		t.Errorf("state = %+v", st)
	}
}

func TestTornTailIsCut(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	if r := fx.engine(nil).Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	path := fx.root.LogPath(record.StreamID{Type: "counter", ID: "a"})
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"type":"Incremented","da`)
	f.Close()
	if st := fx.state("a", 0); st.Version != 1 {
		t.Errorf("reader did not skip the torn tail: %+v", st)
	}
	r := fx.engine(nil).Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
	if r.Failure != nil || r.Records[0].Version != 2 {
		t.Fatalf("%+v", r)
	}
	lines := fx.lines("a")
	if len(lines) != 2 || strings.Contains(strings.Join(lines, "\n"), `"da{`) {
		t.Errorf("torn tail not cut: %q", lines)
	}
}

func TestCorruptLineStopsWriters(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	e := fx.engine(nil)
	for _, id := range []string{"a", "b"} {
		if r := e.Submit(ctx, cmd(id, `{"type":"Increment"}`)).Wait(); r.Failure != nil {
			t.Fatal(r.Failure)
		}
	}
	e.Close()
	path := fx.root.LogPath(record.StreamID{Type: "counter", ID: "a"})
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, "garbage\n"...), 0o644)
	os.Remove(fx.root.SnapshotPath(record.StreamID{Type: "counter", ID: "a"}))
	e2 := fx.engine(nil)
	r := e2.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
	var ce *eventlog.CorruptError
	if r.Failure == nil || r.Failure.Kind != KindCorrupt || !errors.As(r.Failure, &ce) || ce.Offset != int64(len(data)) {
		t.Fatalf("corrupt stream: %+v", r.Failure)
	}
	after, _ := os.ReadFile(path)
	if len(after) != len(data)+len("garbage\n") {
		t.Error("something was appended to a corrupt stream")
	}
	if r := e2.Submit(ctx, cmd("b", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
		t.Errorf("another stream was affected: %v", r.Failure)
	}
}

func TestSnapshotUsedAndMismatchIgnored(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	e := fx.engine(func(c *Config) { c.SnapshotEvery = 3 })
	for range 4 {
		if r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
			t.Fatal(r.Failure)
		}
	}
	e.Close()
	id := record.StreamID{Type: "counter", ID: "a"}
	snap, err := fx.root.LoadSnapshot(id)
	if err != nil || snap == nil || snap.Version == nil || *snap.Version != 4 || string(snap.State) != `{"value":4}` {
		t.Fatalf("snapshot after close = %+v, %v", snap, err)
	}
	// A snapshot claiming a state the log does not support is ignored.
	bad := *snap
	bad.State = record.RawMessage(`{"value":99}`)
	bad.Hash = "0000000000000000"
	if err := fx.root.SaveSnapshot(id, bad, false); err != nil {
		t.Fatal(err)
	}
	if st := fx.state("a", 0); string(st.State) != `{"value":4}` {
		t.Errorf("mismatched snapshot was trusted: %s", st.State)
	}
	os.WriteFile(fx.root.SnapshotPath(id), []byte("{not json"), 0o644)
	r := fx.engine(nil).Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait()
	if r.Failure != nil || r.Records[0].Version != 5 {
		t.Fatalf("%+v", r)
	}
	if st := fx.state("a", 0); string(st.State) != `{"value":5}` {
		t.Errorf("state = %s", st.State)
	}
}

func TestEvictionKeepsStateRight(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	e := fx.engine(func(c *Config) { c.MaxActors = 2; c.IdleTimeout = 20 * time.Millisecond })
	for round := range 3 {
		for i := range 10 {
			if r := e.Submit(ctx, cmd(fmt.Sprint(i), `{"type":"Increment"}`)).Wait(); r.Failure != nil {
				t.Fatal(r.Failure)
			}
		}
		if live := e.Live(); live > 2 {
			t.Errorf("round %d: %d live actors, cap 2", round, live)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if live := e.Live(); live != 0 {
		t.Errorf("%d actors still live after the idle timeout", live)
	}
	for i := range 10 {
		if st := fx.state(fmt.Sprint(i), 0); st.Version != 3 || string(st.State) != `{"value":3}` {
			t.Errorf("instance %d: %+v", i, st)
		}
	}
}

func TestUnknownTypeAndBadID(t *testing.T) {
	fx := newFixture(t)
	e := fx.engine(nil)
	ctx := context.Background()
	r := e.Submit(ctx, record.Envelope{AggregateType: "nope", InstanceID: "a", Command: record.RawMessage(`{"type":"X"}`)}).Wait()
	if r.Failure == nil || r.Failure.Kind != KindUnknownType {
		t.Errorf("unknown type: %+v", r)
	}
	for _, bad := range []string{"../x", "a/b", "", ".", "..", "a\x00b"} {
		r := e.Submit(ctx, cmd(bad, `{"type":"Increment"}`)).Wait()
		if r.Failure == nil || r.Failure.Kind != KindInvalid || !strings.Contains(r.Failure.Error(), "single path segment") {
			t.Errorf("id %q: %+v", bad, r)
		}
	}
	if ids, _ := fx.root.Streams(); len(ids) != 0 {
		t.Errorf("streams created: %v", ids)
	}
}
