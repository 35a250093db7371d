package watch

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// rewriteSameSize replaces a log's content with other bytes of the same
// length, as a copy of another root or a repair would: the cursor's offset
// still fits, its hash no longer does.
func rewriteSameSize(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(data), `"n":`, `"m":`, 1)
	if len(other) != len(data) || other == string(data) {
		t.Fatalf("rewrite of %q changed nothing or its size", path)
	}
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkedRoot makes streams of one event each and the cursors at their
// ends; with many, the probes run ahead in parallel.
func checkedRoot(t *testing.T, streams int) (*testRoot, map[string]record.Cursor) {
	r := newTestRoot(t)
	for i := range streams {
		r.append(sid(fmt.Sprintf("counter/s%03d", i)), 1)
	}
	all, err := catchUp(t, &Source{Store: r.root}, nil)
	if err != nil || len(all) != streams {
		t.Fatalf("first catch-up = %d records, %v", len(all), err)
	}
	cursors := map[string]record.Cursor{}
	for _, g := range all {
		cursors[g.stream] = g.cursor()
	}
	return r, cursors
}

func TestCheckedSkipsOnlyUnchangedLogs(t *testing.T) {
	for _, streams := range []int{3, probeMin + 10} {
		t.Run(fmt.Sprint(streams), func(t *testing.T) {
			r, cursors := checkedRoot(t, streams)
			rewriteSameSize(t, r.root.LogPath(sid("counter/s001")))
			var rewritten []string
			src := func(checked time.Time) *Source {
				rewritten = nil
				return &Source{Store: r.root, Checked: checked, OnRewritten: func(e *RewrittenError) error {
					rewritten = append(rewritten, e.Stream.String())
					return errors.New("stop")
				}}
			}
			// Vouched for after the rewrite (a clock from the future):
			// the log is not opened, so its new content goes unseen.
			// This is what makes the skip cheap, and why Checked must
			// only ever come from a run that checked.
			if recs, err := catchUp(t, src(time.Now().Add(time.Hour)), cursors); err != nil || len(recs) != 0 {
				t.Fatalf("catch-up vouched after the rewrite = %v, %v; want nothing read", recs, err)
			}
			// Vouched for before it: the rewritten log changed since, so
			// it is checked, and found rewritten.
			if _, err := catchUp(t, src(time.Now().Add(-time.Hour)), cursors); err == nil || len(rewritten) != 1 || rewritten[0] != "counter/s001" {
				t.Fatalf("catch-up vouched before the rewrite: rewritten %v, err %v; want counter/s001 reported", rewritten, err)
			}
			// Not vouched for at all: every log is checked.
			if _, err := catchUp(t, src(time.Time{}), cursors); err == nil || len(rewritten) != 1 {
				t.Fatalf("catch-up with no Checked: rewritten %v, err %v; want counter/s001 reported", rewritten, err)
			}
		})
	}
}

func TestCheckedNeverHidesAnAppend(t *testing.T) {
	r, cursors := checkedRoot(t, probeMin+10)
	// An append, by any writer (eventfold-es writes no change journal),
	// makes the log longer than its cursor: read, whatever Checked says.
	more := r.append(sid("counter/s007"), 2)
	for _, checked := range []time.Time{time.Now().Add(time.Hour), time.Now().Add(-time.Hour), {}} {
		recs, err := catchUp(t, &Source{Store: r.root, Checked: checked}, cursors)
		if err != nil {
			t.Fatal(err)
		}
		start := cursors["counter/s007"].Offset
		sameRecords(t, recs, expect("counter/s007", start, 1, more))
	}
	// A torn append (no newline yet) is not a record, and not skipped as
	// nothing either: the full check leaves it for later.
	r.add(sid("counter/s008"), `{"type":"Hap`)
	recs, err := catchUp(t, &Source{Store: r.root, Checked: time.Now().Add(time.Hour)}, cursors)
	if err != nil || len(recs) != 2 {
		t.Fatalf("catch-up with a torn tail = %d records, %v; want the 2 appended", len(recs), err)
	}
}

func TestCheckedCutShort(t *testing.T) {
	r, cursors := checkedRoot(t, 3)
	if err := os.Truncate(r.root.LogPath(sid("counter/s002")), 0); err != nil {
		t.Fatal(err)
	}
	var rewritten []string
	src := &Source{Store: r.root, Checked: time.Now().Add(time.Hour), OnRewritten: func(e *RewrittenError) error {
		rewritten = append(rewritten, e.Stream.String())
		return nil
	}}
	if _, err := catchUp(t, src, cursors); err != nil || len(rewritten) != 1 {
		t.Fatalf("catch-up of a log cut short: rewritten %v, err %v; want counter/s002 reported", rewritten, err)
	}
}

func TestCheckedReadsWhatChangedInDiscoveryOrder(t *testing.T) {
	r, cursors := checkedRoot(t, probeMin+10)
	// s050 was created after s003, so the registry lists it later: its
	// records come later whatever the order of the appends.
	late := r.append(sid("counter/s050"), 1)
	early := r.append(sid("counter/s003"), 2)
	// A stream with no cursor, not in the registry (another tool made
	// it): read from its start.
	if err := os.MkdirAll(r.root.StreamDir(sid("counter/zz")), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := r.event("Happened")
	if err := os.WriteFile(r.root.LogPath(sid("counter/zz")), []byte(raw+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	recs, err := catchUp(t, &Source{Store: r.root, Checked: time.Now().Add(time.Hour),
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}, cursors)
	if err != nil {
		t.Fatal(err)
	}
	// the others were found unchanged by their stat alone, and skipped
	if want := fmt.Sprintf("streams=%d unchanged=%d", probeMin+11, probeMin+8); !strings.Contains(log.String(), want) {
		t.Errorf("log %q; want %q", log.String(), want)
	}
	want := append(expect("counter/s003", cursors["counter/s003"].Offset, 1, early), expect("counter/s050", cursors["counter/s050"].Offset, 1, late)...)
	sameRecords(t, recs, append(want, expect("counter/zz", 0, 0, []string{raw})...))
}

func TestCheckedStreamGone(t *testing.T) {
	r, cursors := checkedRoot(t, probeMin+10)
	if err := os.RemoveAll(r.root.StreamDir(sid("counter/s009"))); err != nil {
		t.Fatal(err)
	}
	var rewritten []string
	src := &Source{Store: r.root, Checked: time.Now().Add(time.Hour), OnRewritten: func(e *RewrittenError) error {
		rewritten = append(rewritten, e.Stream.String()+": "+e.Reason)
		return nil
	}}
	if recs, err := catchUp(t, src, cursors); err != nil || len(recs) != 0 || len(rewritten) != 1 || rewritten[0] != "counter/s009: the stream no longer exists" {
		t.Fatalf("catch-up with a stream gone = %v, %v, rewritten %q; want counter/s009 reported gone", recs, err, rewritten)
	}
}

func TestCheckedEmptyStreamsNeedNoRead(t *testing.T) {
	r, cursors := checkedRoot(t, probeMin+10)
	// a directory whose log is not written yet, and an empty log: nothing
	// to read, so the catch-up is still over after the stats
	if err := os.MkdirAll(r.root.StreamDir(sid("counter/nolog")), 0o755); err != nil {
		t.Fatal(err)
	}
	r.add(sid("counter/empty"), "")
	var log bytes.Buffer
	recs, err := catchUp(t, &Source{Store: r.root, Checked: time.Now().Add(time.Hour),
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}, cursors)
	if err != nil || len(recs) != 0 {
		t.Fatalf("catch-up = %v, %v; want nothing", recs, err)
	}
	if want := fmt.Sprintf("streams=%d unchanged=%d", probeMin+12, probeMin+12); !strings.Contains(log.String(), want) {
		t.Errorf("log %q; want %q", log.String(), want)
	}
}
