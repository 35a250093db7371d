package fsck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/vfs"
)

// fixture copies the root eventfold-es 0.2.0 wrote (three counters, their
// snapshots, the registry, a projection's checkpoint) into a temp dir.
func fixture(t *testing.T) store.Root {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	src := filepath.Join("..", "..", "testdata", "eventfold-es-0.2.0", "counter-root")
	if out, err := exec.Command("cp", "-R", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy fixture: %v: %s", err, out)
	}
	if out, err := exec.Command("chmod", "-R", "u+w", dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod fixture: %v: %s", err, out)
	}
	return store.Open(dir)
}

var alpha = record.StreamID{Type: "counter", ID: "alpha"}

// check runs Check and returns its findings and summary.
func check(t *testing.T, root store.Root, repair bool) ([]Finding, Summary) {
	t.Helper()
	var found []Finding
	sum, err := Check(context.Background(), Config{Root: root, Repair: repair, LockTimeout: 200 * time.Millisecond},
		func(f Finding) error { found = append(found, f); return nil })
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return found, sum
}

// only asserts that the findings are exactly one of kind, and returns it.
func only(t *testing.T, found []Finding, kind string) Finding {
	t.Helper()
	if len(found) != 1 || found[0].Kind != kind {
		t.Fatalf("findings: got %+v, want one %s", found, kind)
	}
	return found[0]
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventfoldRootIsClean(t *testing.T) {
	found, sum := check(t, fixture(t), false)
	if len(found) != 0 {
		t.Fatalf("findings on eventfold-es's own root: %+v", found)
	}
	want := Summary{Kind: "summary", Root: sum.Root, Streams: 3, Events: 9, Snapshots: 3, Consumers: 1}
	if sum != want || !sum.OK() {
		t.Fatalf("summary: got %+v, want %+v", sum, want)
	}
}

func TestMissingRootIsEmpty(t *testing.T) {
	found, sum := check(t, store.Open(filepath.Join(t.TempDir(), "nothing")), false)
	if len(found) != 0 || sum.Streams != 0 || !sum.OK() {
		t.Fatalf("got %+v, %+v", found, sum)
	}
}

func TestTornTailReportedThenCut(t *testing.T) {
	root := fixture(t)
	log := root.LogPath(alpha)
	whole := readFile(t, log)
	appendFile(t, log, `{"type":"Incremented","da`)

	f := only(t, mustFind(t, root, false), KindTornTail)
	if *f.Offset != int64(len(whole)) || f.Stream != "counter/alpha" || f.Repaired || f.Level != LevelError {
		t.Fatalf("finding: %+v", f)
	}
	if readFile(t, log) == whole {
		t.Fatal("a check without --repair changed the log")
	}

	found, sum := check(t, root, true)
	if f := only(t, found, KindTornTail); !f.Repaired {
		t.Fatalf("not repaired: %+v", f)
	}
	if !sum.OK() || sum.Repaired != 1 {
		t.Fatalf("summary after repair: %+v", sum)
	}
	if got := readFile(t, log); got != whole {
		t.Fatalf("log after repair:\n%s\nwant:\n%s", got, whole)
	}
	if found, _ := check(t, root, false); len(found) != 0 {
		t.Fatalf("findings after repair: %+v", found)
	}
}

func mustFind(t *testing.T, root store.Root, repair bool) []Finding {
	t.Helper()
	found, sum := check(t, root, repair)
	if sum.OK() {
		t.Fatalf("summary says OK with findings %+v", found)
	}
	return found
}

func TestTornTailNotCutWhileLocked(t *testing.T) {
	root := fixture(t)
	appendFile(t, root.LogPath(alpha), `{"type"`)
	w, err := eventlog.OpenAppend(vfs.OS, root.LogPath(alpha))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	unlock, err := w.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	found, sum := check(t, root, true)
	f := only(t, found, KindTornTail)
	if f.Repaired || !strings.Contains(f.Message, "not cut") || sum.OK() {
		t.Fatalf("cut under another writer's lock: %+v, %+v", f, sum)
	}
	if !strings.HasSuffix(readFile(t, root.LogPath(alpha)), `{"type"`) {
		t.Fatal("the torn tail is gone")
	}
}

func TestFlippedByte(t *testing.T) {
	t.Run("not JSON any more", func(t *testing.T) {
		root := fixture(t)
		log := root.LogPath(alpha)
		b := []byte(readFile(t, log))
		second := strings.IndexByte(string(b), '\n') + 1
		b[second] = '[' // the second line's opening brace
		writeFile(t, log, string(b))
		found := mustFind(t, root, false)
		kinds := kindsOf(found)
		if kinds[0] != KindCorruptLine || *found[0].Offset != int64(second) || !strings.Contains(found[0].Message, "line 2") {
			t.Fatalf("findings: %+v", found)
		}
		// The snapshot and the checkpoint name the last line, still whole.
		if len(found) != 1 {
			t.Fatalf("findings: %v", kinds)
		}
	})
	t.Run("still JSON, another hash", func(t *testing.T) {
		root := fixture(t)
		log := root.LogPath(alpha)
		s := readFile(t, log)
		writeFile(t, log, strings.Replace(s, `"WasReset"`, `"WasResat"`, 1))
		found := mustFind(t, root, false)
		if got := strings.Join(kindsOf(found), " "); got != "snapshot_mismatch rewritten" {
			t.Fatalf("findings: %s: %+v", got, found)
		}
		if found[1].Stream != "counter/alpha" || !strings.Contains(found[1].Path, "total-counter") {
			t.Fatalf("rewritten: %+v", found[1])
		}
	})
}

func kindsOf(found []Finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Kind)
	}
	return out
}

func TestBadSnapshot(t *testing.T) {
	cases := map[string]struct {
		snapshot string
		kind     string
	}{
		"not JSON":          {`{"state":`, KindBadSnapshot},
		"no hash":           {`{"state":{},"offset":487}`, KindBadSnapshot},
		"past the log":      {`{"state":{},"offset":9999,"hash":"477053ed4b97daed"}`, KindSnapshotMismatch},
		"wrong hash":        {`{"state":{},"offset":487,"hash":"0000000000000000"}`, KindSnapshotMismatch},
		"wrong version":     {`{"state":{},"offset":487,"hash":"477053ed4b97daed","version":3}`, KindSnapshotMismatch},
		"mid-line":          {`{"state":{},"offset":100,"hash":"477053ed4b97daed"}`, KindSnapshotMismatch},
		"right, version 4":  {`{"state":{},"offset":487,"hash":"477053ed4b97daed","version":4}`, ""},
		"the empty log's":   {`{"state":null,"offset":0,"hash":""}`, ""},
		"fold's own format": {`{"state":{"value":0},"offset":487,"hash":"477053ed4b97daed","version":4}`, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := fixture(t)
			path := root.SnapshotPath(alpha)
			writeFile(t, path, tc.snapshot)
			found, _ := check(t, root, false)
			if tc.kind == "" {
				if len(found) != 0 {
					t.Fatalf("findings: %+v", found)
				}
				return
			}
			only(t, found, tc.kind)
			found, sum := check(t, root, true)
			if f := only(t, found, tc.kind); !f.Repaired || !sum.OK() {
				t.Fatalf("not repaired: %+v", f)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("snapshot still there: %v", err)
			}
		})
	}
}

func TestBadEvents(t *testing.T) {
	cases := map[string]struct {
		line string
		kind string
		want string // in the message
	}{
		"no data":       {`{"type":"X","ts":1}`, KindCorruptLine, "no data"},
		"no ts":         {`{"type":"X","data":null}`, KindCorruptLine, "no ts"},
		"negative ts":   {`{"type":"X","data":null,"ts":-1}`, KindCorruptLine, "whole Unix seconds"},
		"type a number": {`{"type":1,"data":null,"ts":1}`, KindCorruptLine, "type"},
		"no type":       {`{"data":null,"ts":1}`, KindCorruptLine, "no type"},
		"not UTF-8":     {"{\"type\":\"X\xff\",\"data\":null,\"ts\":1}", KindCorruptLine, "UTF-8"},
		"empty line":    {``, KindCorruptLine, "empty line"},
		"id a number":   {`{"type":"X","data":null,"ts":1,"id":7}`, KindCorruptLine, "id 7"},
		"same id":       {`{"type":"X","data":null,"ts":1,"id":"5f072170-7d78-448e-98b3-3642ab780ee9"}`, KindDuplicateEventID, "at byte 0"},
		"too large":     {`{"type":"X","data":"` + strings.Repeat("x", 2<<20) + `","ts":1}`, KindEventTooLarge, "over the"},
		"fine":          {`{"type":"X","data":{"a":1},"ts":1,"id":"new","actor":"me","meta":{"k":"v"}}`, "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := fixture(t)
			log := root.LogPath(alpha)
			at := int64(len(readFile(t, log)))
			appendFile(t, log, tc.line+"\n")
			found, _ := check(t, root, false)
			if tc.kind == "" {
				if len(found) != 0 {
					t.Fatalf("findings: %+v", found)
				}
				return
			}
			f := only(t, found, tc.kind)
			if *f.Offset != at || !strings.Contains(f.Message, tc.want) || !strings.Contains(f.Message, "line 5") {
				t.Fatalf("finding: %+v", f)
			}
		})
	}
}

func TestRegistryGaps(t *testing.T) {
	root := fixture(t)
	reg := root.RegistryPath()
	// beta's line goes; a stream that is not there, a duplicate and a line
	// that is no entry come.
	lines := strings.Split(readFile(t, reg), "\n")
	writeFile(t, reg, lines[0]+"\n"+lines[2]+"\n"+`{"id":"ghost","ts":1,"type":"counter"}`+"\n"+lines[0]+"\n"+"nonsense\n")

	found := mustFind(t, root, false)
	if got := strings.Join(kindsOf(found), " "); got != "missing_stream duplicate_registry_entry bad_registry_line unregistered_stream" {
		t.Fatalf("findings: %s: %+v", got, found)
	}
	if found[0].Stream != "counter/ghost" || found[3].Stream != "counter/beta" || found[3].Repair == "" {
		t.Fatalf("findings: %+v", found)
	}

	found, _ = check(t, root, true)
	if f := found[3]; f.Kind != KindUnregistered || !f.Repaired {
		t.Fatalf("not registered: %+v", f)
	}
	ids, err := root.Streams()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[2].ID != "beta" {
		t.Fatalf("streams after repair: %v", ids)
	}
	found, _ = check(t, root, false)
	if got := strings.Join(kindsOf(found), " "); got != "missing_stream duplicate_registry_entry bad_registry_line" {
		t.Fatalf("findings after repair: %s", got)
	}
}

func TestEmptyUnregisteredLogIsAWarning(t *testing.T) {
	root := fixture(t)
	writeFile(t, root.LogPath(record.StreamID{Type: "counter", ID: "new"}), "")
	found, sum := check(t, root, true)
	f := only(t, found, KindUnregistered)
	if f.Level != LevelWarning || f.Repaired || !sum.OK() || sum.Warnings != 1 {
		t.Fatalf("got %+v, %+v", f, sum)
	}
}

func TestBadCheckpoint(t *testing.T) {
	cp := func(root store.Root) string {
		return filepath.Join(root.ProjectionDir("total-counter"), "checkpoint.json")
	}
	t.Run("not JSON", func(t *testing.T) {
		root := fixture(t)
		writeFile(t, cp(root), `{"state":{},"cursors":`)
		only(t, mustFind(t, root, false), KindBadCheckpoint)
	})
	t.Run("negative offset", func(t *testing.T) {
		root := fixture(t)
		writeFile(t, cp(root), `{"state":{},"cursors":{"counter/alpha":{"offset":-1,"hash":""}}}`)
		only(t, mustFind(t, root, false), KindBadCheckpoint)
	})
	t.Run("cursor keys", func(t *testing.T) {
		root := fixture(t)
		writeFile(t, cp(root), `{"state":{},"cursors":{"alpha":{"offset":1,"hash":""},"counter/..":{"offset":1,"hash":""},"counter/zeta":{"offset":0,"hash":""}}}`)
		found := mustFind(t, root, false)
		if got := strings.Join(kindsOf(found), " "); got != "bad_cursor bad_cursor" {
			t.Fatalf("findings: %s: %+v", got, found)
		}
	})
	t.Run("gone and short", func(t *testing.T) {
		root := fixture(t)
		writeFile(t, cp(root), `{"state":{},"cursors":{"counter/alpha":{"offset":9999,"hash":"477053ed4b97daed"},"counter/zeta":{"offset":10,"hash":"477053ed4b97daed"}}}`)
		found := mustFind(t, root, false)
		if got := strings.Join(kindsOf(found), " "); got != "rewritten rewritten" ||
			!strings.Contains(found[0].Message, "ends before") || !strings.Contains(found[1].Message, "no longer exists") {
			t.Fatalf("findings: %s: %+v", got, found)
		}
	})
	t.Run("pending and note", func(t *testing.T) {
		root := fixture(t)
		dir := filepath.Join(root.Dir, "consumers", "mailer")
		writeFile(t, filepath.Join(dir, "pending.json"), `[]`)
		writeFile(t, filepath.Join(dir, "consumer.json"), `{`)
		found := mustFind(t, root, false)
		if got := strings.Join(kindsOf(found), " "); got != "bad_checkpoint bad_note" || !strings.HasSuffix(found[0].Path, "pending.json") {
			t.Fatalf("findings: %s: %+v", got, found)
		}
	})
}

func TestDeadLetters(t *testing.T) {
	root := fixture(t)
	path := filepath.Join(root.ProcessManagerDir("fulfil"), "dead_letters.jsonl")
	good := `{"envelope":{"aggregate_type":"counter","instance_id":"a","command":{"type":"Decrement"}},"error":"rejected","ts":1}`
	writeFile(t, path, good+"\n"+`{"error":"no envelope"}`+"\n"+good+"\n"+`{"envelope":{},"err`)
	found, sum := check(t, root, false)
	if got := strings.Join(kindsOf(found), " "); got != "bad_dead_letter torn_tail" || sum.DeadLetters != 2 || sum.Consumers != 2 {
		t.Fatalf("findings: %s: %+v %+v", got, found, sum)
	}
	if !strings.Contains(found[0].Message, "line 2") || *found[1].Offset != int64(2*len(good)+len(`{"error":"no envelope"}`)+3) {
		t.Fatalf("findings: %+v", found)
	}
}

func TestBadNames(t *testing.T) {
	root := fixture(t)
	if err := os.MkdirAll(filepath.Join(root.Dir, "streams", "counter", "bad\xffname"), 0o755); err != nil {
		t.Fatal(err)
	}
	found, sum := check(t, root, false)
	if f := only(t, found, KindBadName); f.Level != LevelWarning || !sum.OK() {
		t.Fatalf("got %+v %+v", f, sum)
	}
}
