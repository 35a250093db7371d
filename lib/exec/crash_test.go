package exec

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// crashRootDir is where the crash tests' root lives on crashfs: its parent
// does not exist either, so the first stream makes three directories above
// streams/ whose names must become durable too.
const crashRootDir = "/srv/fold"

var crashInstances = []string{"a", "b", "c"}

// crashStats counts what TestCrashPoints tried.
type crashStats struct {
	runs, points, commands, acked, checkpoints, faults int
}

// TestCrashPoints runs random command sequences through the engine (a Go
// handler over the protocol) on crashfs, with random sync modes, snapshot
// cadences, actor limits, restarts, checkpoint saves, exchange or rename
// for snapshots, and in a third of the runs random write and fdatasync
// failures (EIO, ENOSPC). After every change made to the file system it
// takes what a power cut at that moment would leave (everything synced,
// and a random prefix of the rest of each file and directory, the last
// write possibly torn) and checks: every event acknowledged before the
// cut is there, in order, at the start of its log (unless --sync none);
// every log reads as whole events with at most a torn tail; every stream
// with a log is discovered through the registry or the listing; a
// snapshot that matches its log holds the state and version of the events
// it covers; the checkpoint reads, is no older than the last one saved
// before the cut, and names positions its logs hold; and a new engine on
// what is left takes the next command, at the next version, with the
// right state.
//
// FOLD_CRASH_POINTS=N checks N points instead of 10,000 (1,000 with
// -short); FOLD_CRASH_SEED=S runs seed S alone, and FOLD_CRASH_TRACE=1
// prints what the failing run did, operation by operation.
func TestCrashPoints(t *testing.T) {
	fx := newFixture(t)
	want := 10000
	if testing.Short() {
		want = 1000
	}
	if n, err := strconv.Atoi(os.Getenv("FOLD_CRASH_POINTS")); err == nil {
		want = n // longer runs: FOLD_CRASH_POINTS=1000000
	}
	var st crashStats
	if seed, err := strconv.ParseUint(os.Getenv("FOLD_CRASH_SEED"), 10, 64); err == nil {
		crashRun(t, fx, seed, &st) // one run again, e.g. with FOLD_CRASH_TRACE=1
		want = 0
	}
	for seed := uint64(1); st.points < want && !t.Failed(); seed++ {
		crashRun(t, fx, seed, &st)
	}
	t.Logf("%d crash points checked over %d runs: %d commands, %d events acknowledged, %d checkpoints saved, %d faults injected",
		st.points, st.runs, st.commands, st.acked, st.checkpoints, st.faults)
}

// ackedEvent is an event whose record the engine returned, and the number
// of changes the file system had seen by then: a cut after that many
// changes must hold it.
type ackedEvent struct {
	id     string
	at     int
	cursor record.Cursor
}

// savedCheckpoint is a checkpoint Save that returned, as acknowledged.
type savedCheckpoint struct {
	seq int
	at  int
}

type crashRunner struct {
	t     *testing.T
	fx    *fixture
	seed  uint64
	cfg   Config
	c     *crashfs.FS
	acked map[string][]ackedEvent
	saves []savedCheckpoint
	// firstAck is when the first event was acknowledged: its flush made
	// the root's own name durable.
	firstAck int
	faults   bool
	trace    func(string)
}

func crashRun(t *testing.T, fx *fixture, seed uint64, st *crashStats) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	c := crashfs.New()
	if rng.IntN(2) == 0 {
		c.NoExchange()
	}
	cr := &crashRunner{t: t, fx: fx, seed: seed, c: c, acked: map[string][]ackedEvent{}, faults: rng.IntN(3) == 0}
	cr.cfg = Config{
		Store: store.OpenFS(crashRootDir, c), Routes: fx.pools,
		Sync:          []SyncMode{SyncEach, SyncBatch, SyncNone}[rng.IntN(3)],
		SnapshotEvery: rng.IntN(4), LockTimeout: 5 * time.Second, MaxActors: 1 + rng.IntN(3), Jobs: 2,
	}
	if os.Getenv("FOLD_CRASH_TRACE") != "" {
		var mu sync.Mutex
		var lines []string
		cr.trace = func(s string) {
			mu.Lock()
			lines = append(lines, s)
			mu.Unlock()
		}
		c.Trace(cr.trace)
		defer func() {
			if t.Failed() {
				t.Logf("seed %d, what was done:\n%s", seed, strings.Join(lines, "\n"))
			}
		}()
	}
	if cr.faults {
		frng := rand.New(rand.NewPCG(seed, 0xfa17))
		c.Fail(func(op crashfs.Op) error { // called with c's lock held: one at a time
			if (op.Kind == crashfs.Write || op.Kind == crashfs.Sync) && frng.IntN(25) == 0 {
				st.faults++
				return []error{syscall.EIO, syscall.ENOSPC}[frng.IntN(2)]
			}
			return nil
		})
	}
	c.RecordCuts(rand.New(rand.NewPCG(seed, 0xc07)))
	cr.workload(rng, st)
	c.Fail(nil)
	cuts := c.TakeCuts()
	st.runs++
	for _, cut := range cuts {
		if !cr.check(cut, rng) {
			return
		}
		st.points++
	}
}

// workload submits groups of commands, restarts the engine and saves
// checkpoints, noting what was acknowledged and when.
func (cr *crashRunner) workload(rng *rand.Rand, st *crashStats) {
	ctx := context.Background()
	e := New(cr.cfg)
	defer func() { e.Close() }()
	last := map[string]record.Cursor{}
	for range 4 + rng.IntN(12) {
		switch rng.IntN(10) {
		case 0:
			e.Close()
			e = New(cr.cfg)
		case 1:
			cp := checkpoint.Empty()
			cp.State = record.RawMessage(fmt.Sprintf(`{"seq":%d}`, len(cr.saves)+1))
			for inst, cur := range last {
				cp.Cursors["counter/"+inst] = cur
			}
			if err := cr.checkpointFile(cr.c).Save(cp); err != nil {
				if !cr.faults {
					cr.t.Fatalf("seed %d: save checkpoint: %v", cr.seed, err)
				}
				continue
			}
			cr.saves = append(cr.saves, savedCheckpoint{seq: len(cr.saves) + 1, at: cr.c.Changes()})
			st.checkpoints++
		default:
			ps := make([]*Pending, 1+rng.IntN(4))
			insts := make([]string, len(ps))
			for i := range ps {
				insts[i] = crashInstances[rng.IntN(len(crashInstances))]
				ps[i] = e.Submit(ctx, randomCommand(rng, insts[i]))
			}
			for i, p := range ps {
				r := p.Wait()
				at := cr.c.Changes()
				st.commands++
				if f := r.Failure; f != nil {
					ok := f.Kind == KindRejected || f.Kind == KindDuplicate || cr.faults && f.Kind == KindIO
					if !ok {
						cr.t.Fatalf("seed %d: command on %s failed: %v (%s)", cr.seed, insts[i], f, f.Kind)
					}
					continue
				}
				if cr.trace != nil {
					cr.trace(fmt.Sprintf("ack %s at %d: %d records", insts[i], at, len(r.Records)))
				}
				if len(r.Records) > 0 && cr.firstAck == 0 {
					cr.firstAck = at
				}
				for _, rec := range r.Records {
					cr.acked[insts[i]] = append(cr.acked[insts[i]], ackedEvent{id: eventID(cr.t, rec.Event), at: at, cursor: record.Cursor{Offset: rec.Offset, Hash: rec.Hash}})
					last[insts[i]] = record.Cursor{Offset: rec.Offset, Hash: rec.Hash}
					st.acked++
				}
			}
		}
	}
}

func randomCommand(rng *rand.Rand, inst string) record.Envelope {
	body := []string{`{"type":"Increment"}`, `{"type":"Increment"}`, `{"type":"Twice"}`, `{"type":"Decrement"}`, `{"type":"Add","n":3}`, `{"type":"Add","n":0}`}[rng.IntN(6)]
	env := cmd(inst, body)
	if rng.IntN(4) == 0 {
		env.CommandID = fmt.Sprintf("c%d", rng.IntN(4))
	}
	return env
}

func (cr *crashRunner) checkpointFile(fsys *crashfs.FS) checkpoint.File {
	return checkpoint.File{Path: crashRootDir + "/projections/p/" + checkpoint.FileName, FS: fsys}
}

// loggedEvent is what a check reads of one line of a log.
type loggedEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		N int `json:"n"`
	} `json:"data"`
}

func eventID(t *testing.T, line []byte) string {
	var ev loggedEvent
	if err := record.Unmarshal(line, &ev); err != nil || ev.ID == "" {
		t.Fatalf("event without an id: %s (%v)", line, err)
	}
	return ev.ID
}

// counterValue is the test counter's state after ev.
func counterValue(v int, ev loggedEvent) int {
	switch ev.Type {
	case "Incremented":
		return v + 1
	case "Decremented":
		return v - 1
	case "Added":
		return v + ev.Data.N
	}
	return v
}

// streamRead is what a check found in one stream's log.
type streamRead struct {
	exists bool
	ids    []string
	ends   []int64 // offset past each line
	values []int   // the counter after each line
}

func (s streamRead) value() int {
	if len(s.values) == 0 {
		return 0
	}
	return s.values[len(s.values)-1]
}

// check verifies what one cut left; it reports false after failing the
// test.
func (cr *crashRunner) check(cut crashfs.Cut, rng *rand.Rand) bool {
	t := cr.t
	failf := func(format string, args ...any) bool {
		t.Errorf("seed %d, sync %s, power cut after change %d (%s %s): %s",
			cr.seed, cr.cfg.Sync, cut.Change, cut.After.Kind, cut.After.Path, fmt.Sprintf(format, args...))
		return false
	}
	r := store.OpenFS(crashRootDir, cut.FS)
	listed, err := r.Streams()
	if err != nil {
		return failf("the registry is unreadable: %v", err)
	}
	reads := map[string]streamRead{}
	for _, inst := range crashInstances {
		id := record.StreamID{Type: "counter", ID: inst}
		sr, err := readStream(r, id)
		if err != nil {
			return failf("%s: %v", id, err)
		}
		reads[inst] = sr
		if cr.cfg.Sync != SyncNone {
			for i, a := range cr.acked[inst] {
				if a.at > cut.Change {
					break
				}
				if i >= len(sr.ids) || sr.ids[i] != a.id {
					return failf("%s: acknowledged event %d (%s) is not in the log (it holds %d events)", id, i+1, a.id, len(sr.ids))
				}
			}
		}
		if sr.exists && !containsStream(listed, id) {
			return failf("%s has a log but is not discovered (streams: %v)", id, listed)
		}
		if msg := checkSnapshot(r, id, sr); msg != "" {
			return failf("%s: %s", id, msg)
		}
	}
	if msg := cr.checkCheckpoint(cut, r, reads); msg != "" {
		return failf("%s", msg)
	}
	// The next run continues.
	inst := crashInstances[rng.IntN(len(crashInstances))]
	cfg := cr.cfg
	cfg.Store = r
	e := New(cfg)
	res := e.Submit(context.Background(), cmd(inst, `{"type":"Increment"}`)).Wait()
	e.Close()
	want := uint64(len(reads[inst].ids) + 1)
	if res.Failure != nil {
		return failf("the next run cannot append to counter/%s: %v", inst, res.Failure)
	}
	if res.Records[0].Version != want {
		return failf("the next run appended to counter/%s as version %d; want %d", inst, res.Records[0].Version, want)
	}
	state, err := ReadState(context.Background(), r, cr.fx.pools["counter"], nil, record.StreamID{Type: "counter", ID: inst}, 0)
	if wantState := fmt.Sprintf(`{"value":%d}`, reads[inst].value()+1); err != nil || state.Version != want || string(state.State) != wantState {
		return failf("counter/%s after the next run: %+v, %v; want version %d, state %s", inst, state, err, want, wantState)
	}
	return true
}

// readStream reads a stream's log as a reader would, failing on any
// complete line that is not an event.
func readStream(r store.Root, id record.StreamID) (streamRead, error) {
	var sr streamRead
	lg, err := r.OpenLog(id)
	if errors.Is(err, store.ErrNoStream) {
		return sr, nil
	}
	if err != nil {
		return sr, fmt.Errorf("unreadable log: %w", err)
	}
	defer lg.Close()
	sr.exists = true
	_, err = lg.Scan(eventlog.Tail{}, -1, func(en eventlog.Entry) error {
		if en.Err != nil {
			return en.Err
		}
		var ev loggedEvent
		if err := record.Unmarshal(en.Line, &ev); err != nil || ev.ID == "" {
			return fmt.Errorf("line %d is not one of the test's events: %q", en.Version, en.Line)
		}
		sr.ids = append(sr.ids, ev.ID)
		sr.ends = append(sr.ends, en.End)
		sr.values = append(sr.values, counterValue(sr.value(), ev))
		return nil
	})
	if err != nil {
		return sr, fmt.Errorf("log does not read as events: %w", err)
	}
	return sr, nil
}

func containsStream(ids []record.StreamID, id record.StreamID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// checkSnapshot: a snapshot may be unreadable or not match its log (it is
// then ignored and rebuilt), but one that matches must be right.
func checkSnapshot(r store.Root, id record.StreamID, sr streamRead) string {
	snap, err := r.LoadSnapshot(id)
	if err != nil || snap == nil || snap.Offset <= 0 {
		return ""
	}
	for k, end := range sr.ends {
		if end != snap.Offset {
			continue
		}
		// A snapshot names its line by hash too: a different line that
		// ends at the same offset is a mismatch, ignored.
		lg, err := r.OpenLog(id)
		if err != nil {
			return err.Error()
		}
		tail := eventlog.Tail{Offset: snap.Offset, Hash: snap.Hash, LastStart: -1}
		c, err := lg.Check(&tail)
		lg.Close()
		if err != nil || c != eventlog.Same && c != eventlog.More {
			return ""
		}
		if want := fmt.Sprintf(`{"value":%d}`, sr.values[k]); string(snap.State) != want {
			return fmt.Sprintf("snapshot at offset %d holds %s; the log up to there gives %s", snap.Offset, snap.State, want)
		}
		if snap.Version != nil && *snap.Version != uint64(k+1) {
			return fmt.Sprintf("snapshot at offset %d says version %d; it covers %d events", snap.Offset, *snap.Version, k+1)
		}
	}
	return ""
}

// checkCheckpoint: the checkpoint reads; it is no older than the last
// save that returned before the cut; and with a sync mode that makes
// acknowledged events durable its cursors point into what the logs hold.
func (cr *crashRunner) checkCheckpoint(cut crashfs.Cut, r store.Root, reads map[string]streamRead) string {
	cp, found, err := cr.checkpointFile(cut.FS).Load()
	if err != nil {
		return fmt.Sprintf("checkpoint unreadable: %v", err)
	}
	// A save counts once the root's own name is durable: a flush that
	// acknowledged an event made it so (a checkpoint's save syncs the
	// names below the root, not the root's in its parent). With --sync
	// none nothing does.
	lastSaved := 0
	for _, s := range cr.saves {
		if s.at <= cut.Change && cr.cfg.Sync != SyncNone && cr.firstAck > 0 && s.at > cr.firstAck {
			lastSaved = s.seq
		}
	}
	var state struct{ Seq int }
	if found {
		if err := record.Unmarshal(cp.State, &state); err != nil {
			return fmt.Sprintf("checkpoint state %s: %v", cp.State, err)
		}
	}
	if state.Seq < lastSaved {
		return fmt.Sprintf("checkpoint %d saved before the cut, %d found (found %v)", lastSaved, state.Seq, found)
	}
	if cr.cfg.Sync == SyncNone {
		return ""
	}
	for key, cur := range cp.Cursors {
		inst := key[len("counter/"):]
		if !containsOffset(reads[inst].ends, cur.Offset) {
			return fmt.Sprintf("checkpoint cursor %s at offset %d is not the end of a line in the log (ends %v)", key, cur.Offset, reads[inst].ends)
		}
	}
	return ""
}

func containsOffset(ends []int64, off int64) bool {
	for _, e := range ends {
		if e == off {
			return true
		}
	}
	return false
}
