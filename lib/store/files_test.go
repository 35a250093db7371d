package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/storetest"
)

func TestRootConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return store.Open(filepath.Join(t.TempDir(), "root"))
	})
}

func TestCheckName(t *testing.T) {
	bad := []struct{ value, reason string }{
		{"", "empty"},
		{".", "a relative directory"},
		{"..", "a relative directory"},
		{"a/b", "contains /"},
		{"/", "contains /"},
		{"a\x00b", "contains NUL"},
		{strings.Repeat("x", 256), "longer than 255 bytes"},
		{strings.Repeat("é", 128), "longer than 255 bytes"}, // 128 runes, 256 bytes
		{"caf\xe9", "not UTF-8"},
		{"\xff", "not UTF-8"},
	}
	for _, tc := range bad {
		err := store.CheckName("instance_id", tc.value)
		var ne *store.NameError
		if !errors.Is(err, store.ErrBadName) || !errors.As(err, &ne) {
			t.Errorf("CheckName(%q) = %v; want a *NameError wrapping ErrBadName", tc.value, err)
			continue
		}
		if ne.Field != "instance_id" || ne.Value != tc.value || ne.Reason != tc.reason {
			t.Errorf("CheckName(%q) = %+v; want field instance_id, reason %q", tc.value, ne, tc.reason)
		}
		if msg := err.Error(); !strings.Contains(msg, record.Quote(tc.value)) || !strings.HasPrefix(msg, "instance_id ") {
			t.Errorf("CheckName(%q) says %q; want the field and the quoted value", tc.value, msg)
		}
	}
	for _, v := range []string{"a", "...", ".a", "a.", "a b", "héllo", "a\\b", strings.Repeat("x", 255), strings.Repeat("é", 127) + "x"} {
		if err := store.CheckName("aggregate_type", v); err != nil {
			t.Errorf("CheckName(%q) = %v; want it accepted", v, err)
		}
	}
}

func TestParseStream(t *testing.T) {
	good := map[string]record.StreamID{
		"counter/alpha": {Type: "counter", ID: "alpha"},
		"a b/c.d":       {Type: "a b", ID: "c.d"},
	}
	for s, want := range good {
		if got, err := store.ParseStream(s); err != nil || got != want {
			t.Errorf("ParseStream(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := []struct {
		s     string
		field string // "" for a value that is not TYPE/ID at all
	}{
		{"", ""},
		{"counter", ""},
		{"/alpha", "aggregate_type"},
		{"counter/", "instance_id"},
		{"./alpha", "aggregate_type"},
		{"../alpha", "aggregate_type"},
		{"counter/..", "instance_id"},
		{"counter/a/b", "instance_id"},
		{"count\x00er/a", "aggregate_type"},
		{"counter/a\x00", "instance_id"},
		{"counter/" + strings.Repeat("x", 256), "instance_id"},
		{"\xff/a", "aggregate_type"},
	}
	for _, tc := range bad {
		_, err := store.ParseStream(tc.s)
		if err == nil {
			t.Errorf("ParseStream(%q) succeeded", tc.s)
			continue
		}
		var ne *store.NameError
		switch {
		case tc.field == "" && errors.As(err, &ne):
			t.Errorf("ParseStream(%q) = %v; want a TYPE/ID error, not a name error", tc.s, err)
		case tc.field == "" && !strings.Contains(err.Error(), record.Quote(tc.s)):
			t.Errorf("ParseStream(%q) = %v; want the value named", tc.s, err)
		case tc.field != "" && (!errors.As(err, &ne) || ne.Field != tc.field || !errors.Is(err, store.ErrBadName)):
			t.Errorf("ParseStream(%q) = %v; want a NameError for %s", tc.s, err, tc.field)
		}
	}
}

// TestCreateRegisters checks the layout a creation leaves: the log at
// streams/T/I/app.jsonl and one registry line with sorted keys.
func TestCreateRegisters(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	ids := []record.StreamID{{Type: "counter", ID: "beta"}, {Type: "counter", ID: "alpha"}, {Type: "a b", ID: "é"}}
	before := time.Now().Unix()
	for _, id := range append(ids, ids[0]) {
		w, _, err := r.OpenWriter(id, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		path := filepath.Join(r.Dir, "streams", id.Type, id.ID, "app.jsonl")
		if st, err := os.Stat(path); err != nil || st.Size() != 0 {
			t.Errorf("log of %s: %v; want an empty file at %s", id, err, path)
		}
		if r.LogPath(id) != path {
			t.Errorf("LogPath(%s) = %s; want %s", id, r.LogPath(id), path)
		}
	}
	data, err := os.ReadFile(filepath.Join(r.Dir, "meta", "streams.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(ids) || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("registry:\n%s\nwant one line per stream created (%d), each ending in a newline", data, len(ids))
	}
	for i, line := range lines {
		var e record.RegistryEntry
		if err := record.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("registry line %d %q: %v", i+1, line, err)
		}
		if e.Type != ids[i].Type || e.ID != ids[i].ID || e.Ts < before || e.Ts > time.Now().Unix() {
			t.Errorf("registry line %d = %+v; want type %q, id %q, ts now", i+1, e, ids[i].Type, ids[i].ID)
		}
		// eventfold-es writes the keys sorted.
		if !strings.HasPrefix(line, `{"id":`) || strings.Index(line, `"ts":`) > strings.Index(line, `"type":`) {
			t.Errorf("registry line %d %q: keys not in the order id, ts, type", i+1, line)
		}
	}
}

// TestSnapshotFile checks the snapshot's place and layout: pretty-printed
// like eventfold-es's, with no trailing newline and no temporary file left.
func TestSnapshotFile(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	id := record.StreamID{Type: "counter", ID: "gamma"}
	v := uint64(2)
	snap := record.Snapshot{State: record.RawMessage(`{"value":0,"tags":["a"]}`), Offset: 234, Hash: "08854f3260da89f7", Version: &v}
	for _, durable := range []bool{false, true} {
		if err := r.SaveSnapshot(id, snap, durable); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(r.Dir, "streams", "counter", "gamma", "views", "state.snapshot.json")
	if r.SnapshotPath(id) != path {
		t.Errorf("SnapshotPath = %s; want %s", r.SnapshotPath(id), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "state": {
    "value": 0,
    "tags": [
      "a"
    ]
  },
  "offset": 234,
  "hash": "08854f3260da89f7",
  "version": 2
}`
	if string(data) != want {
		t.Errorf("snapshot file:\n%s\nwant:\n%s", data, want)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("views/ holds %d entries; want only the snapshot (no temporary files)", len(entries))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("snapshot mode: %v, %v; want 0644", st.Mode(), err)
	}
}

func TestLoadSnapshotUnreadable(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	id := record.StreamID{Type: "counter", ID: "alpha"}
	path := r.SnapshotPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"", "{", `{"state":{"value":1},"offset":"x"}`, `{"state":{"value":}}`,
		`{"offset":0,"hash":""}`, `{"state":null,"offset":-1,"hash":""}`, `{"state":null,"offset":0,"hash":"x","version":99}`} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if snap, err := r.LoadSnapshot(id); err == nil {
			t.Errorf("LoadSnapshot of %q = %+v, nil; want an error", content, snap)
		}
	}
}

// TestEventfoldRoot reads the root eventfold-es 0.2.0 wrote: its streams
// in registry order, its snapshots compacted, versionless, and naming the
// end of each log.
func TestEventfoldRoot(t *testing.T) {
	dir := "../../testdata/eventfold-es-0.2.0/counter-root"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("fixture not available:", err)
	}
	r := store.Open(dir)
	ids, err := r.Streams()
	if err != nil {
		t.Fatal(err)
	}
	want := []record.StreamID{{Type: "counter", ID: "alpha"}, {Type: "counter", ID: "beta"}, {Type: "counter", ID: "gamma"}}
	if !slices.Equal(ids, want) {
		t.Fatalf("Streams = %v; want %v", ids, want)
	}
	states := []string{`{"value":0}`, `{"value":1}`, `{"value":0}`}
	versions := []uint64{4, 3, 2}
	for i, id := range ids {
		snap, err := r.LoadSnapshot(id)
		if err != nil || snap == nil {
			t.Fatalf("LoadSnapshot(%s) = %v, %v", id, snap, err)
		}
		if string(snap.State) != states[i] || snap.Version != nil {
			t.Errorf("%s: snapshot state %s, version %v; want %s and none", id, snap.State, snap.Version, states[i])
		}
		l, err := r.OpenLog(id)
		if err != nil {
			t.Fatal(err)
		}
		tail, err := l.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error { return e.Err })
		if err != nil {
			t.Errorf("%s: Scan = %v", id, err)
		}
		if tail.Version != versions[i] || tail.Offset != snap.Offset || tail.Hash != snap.Hash || tail.Torn != 0 {
			t.Errorf("%s: tail %+v; want version %d at the snapshot's offset %d, hash %s", id, tail, versions[i], snap.Offset, snap.Hash)
		}
		pos := eventlog.Tail{Offset: snap.Offset, Hash: snap.Hash, LastStart: -1}
		if c, err := l.Check(&pos); c != eventlog.Same || err != nil {
			t.Errorf("%s: Check of the snapshot's position = %v, %v; want Same", id, c, err)
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestDiscoveryBeyondRegistry checks the SPEC's discovery: registered
// streams in registry order, then stream directories the registry misses,
// sorted; registry lines that are torn, foreign or unsafe are skipped, and
// a registered stream whose log is gone is listed only unchecked.
func TestDiscoveryBeyondRegistry(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	registered := []record.StreamID{{Type: "counter", ID: "zz"}, {Type: "counter", ID: "mm"}}
	for _, id := range registered {
		w, _, err := r.OpenWriter(id, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Written by another tool, or left by a crash before registering.
	for _, id := range []record.StreamID{{Type: "counter", ID: "bb"}, {Type: "counter", ID: "aa"}, {Type: "other", ID: "x"}} {
		if err := os.MkdirAll(r.StreamDir(id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.LogPath(id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A directory without a log is not a stream.
	if err := os.MkdirAll(r.StreamDir(record.StreamID{Type: "counter", ID: "empty"}), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := record.StreamID{Type: "counter", ID: "gone"}
	if err := r.Register(gone, true); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(r.RegistryPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := `{"type":"counter","id":"../../etc"}` + "\n" + `not json` + "\n" + `{"ts":1,"type":"counter","id":"mm"}` + "\n" + `{"id":"aa","ts":1,"ty`
	if _, err := f.WriteString(junk); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	c := func(id string) record.StreamID { return record.StreamID{Type: "counter", ID: id} }
	checks := []struct {
		name string
		list func(...string) ([]record.StreamID, error)
		want []record.StreamID
	}{
		{"Streams", r.Streams, []record.StreamID{c("zz"), c("mm"), c("aa"), c("bb"), {Type: "other", ID: "x"}}},
		{"StreamsUnchecked", r.StreamsUnchecked, []record.StreamID{c("zz"), c("mm"), gone, c("aa"), c("bb"), {Type: "other", ID: "x"}}},
	}
	for _, tc := range checks {
		got, err := tc.list()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v, %v; want %v", tc.name, got, err, tc.want)
		}
		got, err = tc.list("counter")
		if want := tc.want[:len(tc.want)-1]; err != nil || !slices.Equal(got, want) {
			t.Errorf("%s(counter) = %v, %v; want %v", tc.name, got, err, want)
		}
	}
	if data, err := os.ReadFile(r.RegistryPath()); err != nil || !bytes.HasSuffix(data, []byte(`"ty`)) {
		t.Errorf("listing changed the registry: %v", err)
	}
}

// TestRegisterAfterTornLine: a registry whose last line a crash cut short
// still registers the next stream on a line of its own, so it keeps its
// place in discovery order.
func TestRegisterAfterTornLine(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	first, second, third := record.StreamID{Type: "t", ID: "z"}, record.StreamID{Type: "t", ID: "a"}, record.StreamID{Type: "t", ID: "m"}
	for _, id := range []record.StreamID{first, second} {
		w, _, err := r.OpenWriter(id, true)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	// Cut the second registration short: the stream is still found by
	// listing, after the registered ones.
	data, _ := os.ReadFile(r.RegistryPath())
	if err := os.WriteFile(r.RegistryPath(), data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	w, _, err := r.OpenWriter(third, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := r.Streams()
	if err != nil {
		t.Fatal(err)
	}
	if want := []record.StreamID{first, third, second}; !slices.Equal(got, want) {
		t.Errorf("Streams = %v; want %v (the torn registration listed last)", got, want)
	}
}

// TestWatchRootRecreated: a follower keeps hearing of changes when the
// root it watches is removed and made again.
func TestWatchRootRecreated(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	id := record.StreamID{Type: "t", ID: "a"}
	w, _, err := r.OpenWriter(id, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	wt, err := r.Watch(store.Select(nil, nil), nil)
	if err != nil {
		t.Skipf("Watch = %v", err)
	}
	defer wt.Close()
	await := func(what string) {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case c, ok := <-wt.Changes():
				if !ok {
					t.Fatalf("%s: Changes closed", what)
				}
				if c.Stream == id || c.All {
					return
				}
			case <-timeout:
				t.Fatalf("%s: no change for %s", what, id)
			}
		}
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		t.Fatal(err)
	}
	await("removed")
	// Let the removal's other notifications pass.
	for quiet := time.After(300 * time.Millisecond); quiet != nil; {
		select {
		case <-wt.Changes():
		case <-quiet:
			quiet = nil
		}
	}
	w, _, err = r.OpenWriter(id, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	await("made again")
	if err := wt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wt.Close(); err != nil { // twice is harmless
		t.Fatal(err)
	}
}

// TestSnapshotSwap: a snapshot rewritten without fsync is swapped in with
// its side file, so rewrites reuse two inodes instead of making and
// deleting one each time, and each load sees the last snapshot whole.
func TestSnapshotSwap(t *testing.T) {
	r := store.Open(filepath.Join(t.TempDir(), "root"))
	id := record.StreamID{Type: "counter", ID: "a"}
	inodes := map[uint64]bool{}
	for v := uint64(1); v <= 5; v++ {
		snap := record.Snapshot{State: record.RawMessage(fmt.Sprintf(`{"value":%d}`, v)), Offset: int64(v * 10), Hash: "477053ed4b97daed", Version: &v}
		if err := r.SaveSnapshot(id, snap, false); err != nil {
			t.Fatal(err)
		}
		got, err := r.LoadSnapshot(id)
		if err != nil || got == nil || *got.Version != v || string(got.State) != fmt.Sprintf(`{"value":%d}`, v) {
			t.Fatalf("after save %d: %+v, %v", v, got, err)
		}
		st, err := os.Stat(r.SnapshotPath(id))
		if err != nil {
			t.Fatal(err)
		}
		inodes[st.Sys().(*syscall.Stat_t).Ino] = true
	}
	if len(inodes) > 2 {
		t.Errorf("5 saves used %d inodes; want 2, swapped", len(inodes))
	}
	entries, _ := os.ReadDir(filepath.Dir(r.SnapshotPath(id)))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{".state.snapshot.json.swap", "state.snapshot.json"}) {
		t.Errorf("views/ holds %v; want the snapshot and its side file", names)
	}
}
