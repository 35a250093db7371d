package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

func TestCatchUpAll(t *testing.T) {
	r := newTestRoot(t)
	b := r.append(sid("counter/b"), 3)
	a := r.append(sid("counter/a"), 2)
	o := r.append(sid("order/1"), 1)
	recs, err := catchUp(t, &Source{Store: r.root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Registry order: b was created first.
	want := append(append(expect("counter/b", 0, 0, b), expect("counter/a", 0, 0, a)...), expect("order/1", 0, 0, o)...)
	sameRecords(t, recs, want)
}

func TestCatchUpNoRoot(t *testing.T) {
	recs, err := catchUp(t, &Source{Store: store.Open(t.TempDir() + "/missing")}, nil)
	if err != nil || len(recs) != 0 {
		t.Fatalf("CatchUp of a missing root = %v, %v; want nothing, no error", recs, err)
	}
	_, err = catchUp(t, &Source{Store: store.Open(t.TempDir() + "/missing"), Streams: []record.StreamID{sid("a/b")}}, nil)
	if !errors.Is(err, store.ErrNoStream) {
		t.Fatalf("CatchUp of a named missing stream = %v; want ErrNoStream", err)
	}
}

func TestCatchUpSelection(t *testing.T) {
	r := newTestRoot(t)
	a := r.append(sid("counter/a"), 1)
	b := r.append(sid("counter/b"), 1)
	o := r.append(sid("order/1"), 1)
	p := r.append(sid("other/x"), 1)
	for _, tc := range []struct {
		name string
		src  Source
		want []got
	}{
		{"type", Source{Types: []string{"counter"}}, append(expect("counter/a", 0, 0, a), expect("counter/b", 0, 0, b)...)},
		{"stream", Source{Streams: []record.StreamID{sid("counter/b")}}, expect("counter/b", 0, 0, b)},
		{"type and stream", Source{Types: []string{"order"}, Streams: []record.StreamID{sid("other/x")}}, append(expect("order/1", 0, 0, o), expect("other/x", 0, 0, p)...)},
		{"unknown type", Source{Types: []string{"nope"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.src.Store = r.root
			recs, err := catchUp(t, &tc.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, recs, tc.want)
		})
	}
}

func TestCatchUpFromCursors(t *testing.T) {
	r := newTestRoot(t)
	a := r.append(sid("counter/a"), 5)
	b := r.append(sid("counter/b"), 2)
	all, err := catchUp(t, &Source{Store: r.root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cursors := map[string]record.Cursor{
		"counter/a": all[2].cursor(), // after version 3
		"counter/b": all[6].cursor(), // at its end
		"order/9":   {Offset: 10, Hash: "x"},
	}
	recs, err := catchUp(t, &Source{Store: r.root, Types: []string{"counter"}}, cursors)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, recs, expect("counter/a", all[2].offset, 3, a[3:]))
	_ = b
}

func TestCatchUpBatches(t *testing.T) {
	r := newTestRoot(t)
	r.append(sid("a/1"), 3)
	r.append(sid("a/2"), 2)
	var c collector
	if err := (&Source{Store: r.root, MaxBatch: 2}).CatchUp(context.Background(), nil, c.fn); err != nil {
		t.Fatal(err)
	}
	// Batches span streams; the last is Idle (here: empty).
	if want := []int{2, 2, 1}; len(c.batches) != len(want) || c.batches[0] != 2 || c.batches[1] != 2 || c.batches[2] != 1 || c.idle != 1 {
		t.Fatalf("batch sizes %v, %d idle; want %v and one idle", c.batches, c.idle, want)
	}
	// Event bytes were copied out of the batch before it was reused.
	if c.recs[0].event == c.recs[2].event {
		t.Fatal("records of different batches share their bytes")
	}
}

func TestCatchUpTornTail(t *testing.T) {
	r := newTestRoot(t)
	lines := r.append(sid("a/1"), 2)
	torn := r.event("Half")
	r.add(sid("a/1"), torn[:10])
	recs, err := catchUp(t, &Source{Store: r.root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, recs, expect("a/1", 0, 0, lines))
	r.add(sid("a/1"), torn[10:]+"\n")
	recs, err = catchUp(t, &Source{Store: r.root}, map[string]record.Cursor{"a/1": recs[1].cursor()})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, recs, expect("a/1", recs[0].offset-int64(len(torn))-1, 2, []string{torn}))
}

func TestCatchUpCorruptLine(t *testing.T) {
	r := newTestRoot(t)
	first := r.append(sid("a/1"), 1)
	r.add(sid("a/1"), "{not json\n")
	last := r.append(sid("a/1"), 1)
	var reported []*eventlog.CorruptError
	src := &Source{Store: r.root, OnCorrupt: func(e *eventlog.CorruptError) error {
		reported = append(reported, e)
		return nil
	}}
	recs, err := catchUp(t, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0].Path != r.root.LogPath(sid("a/1")) || reported[0].Offset != int64(len(first[0])+1) {
		t.Fatalf("reported %+v; want one bad line at byte %d", reported, len(first[0])+1)
	}
	// The bad line still counts as a line: versions are line numbers.
	want := append(expect("a/1", 0, 0, first), expect("a/1", int64(len(first[0])+1+len("{not json\n")), 2, last)...)
	sameRecords(t, recs, want)

	stop := errors.New("stop here")
	src.OnCorrupt = func(*eventlog.CorruptError) error { return stop }
	if _, err := catchUp(t, src, nil); !errors.Is(err, stop) {
		t.Fatalf("CatchUp = %v; want OnCorrupt's error", err)
	}
}

func TestCatchUpRewritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *testRoot, path string, all []got)
		cursor func(all []got) record.Cursor
	}{
		{"shorter", func(r *testRoot, path string, all []got) { truncate(t, path, all[0].offset) }, func(all []got) record.Cursor { return all[2].cursor() }},
		{"other hash", func(r *testRoot, path string, _ []got) {
			data, _ := os.ReadFile(path)
			data[len(data)-5] ^= 1
			os.WriteFile(path, data, 0o644)
		}, func(all []got) record.Cursor { return all[2].cursor() }},
		{"not at a line end", nil, func(all []got) record.Cursor { return record.Cursor{Offset: all[1].offset - 3, Hash: all[1].hash} }},
		{"gone", func(r *testRoot, path string, _ []got) { os.RemoveAll(r.root.StreamDir(sid("a/1"))) }, func(all []got) record.Cursor { return all[2].cursor() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRoot(t)
			r.append(sid("a/1"), 3)
			all, _ := catchUp(t, &Source{Store: r.root}, nil)
			if tc.change != nil {
				tc.change(r, r.root.LogPath(sid("a/1")), all)
			}
			cursors := map[string]record.Cursor{"a/1": tc.cursor(all)}
			_, err := catchUp(t, &Source{Store: r.root}, cursors)
			var rw *RewrittenError
			if !errors.As(err, &rw) || !errors.Is(err, ErrRewritten) || rw.Stream != sid("a/1") || rw.Cursor != cursors["a/1"] {
				t.Fatalf("CatchUp = %v; want a *RewrittenError for a/1", err)
			}
			// Accepting the rewrite reads the stream again from its start.
			var seen []*RewrittenError
			src := &Source{Store: r.root, OnRewritten: func(e *RewrittenError) error { seen = append(seen, e); return nil }}
			recs, err := catchUp(t, src, cursors)
			if err != nil || len(seen) != 1 {
				t.Fatalf("CatchUp with OnRewritten = %v, %d reports; want no error, one report", err, len(seen))
			}
			if tc.name != "gone" && (len(recs) == 0 || recs[0].version != 1) {
				t.Fatalf("after a rewrite got %+v; want the stream from version 1", recs)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func TestCatchUpProgressAndCancel(t *testing.T) {
	r := newTestRoot(t)
	r.append(sid("a/1"), 1)
	r.append(sid("a/2"), 1)
	var ps []Progress
	if _, err := catchUp(t, &Source{Store: r.root, Progress: func(p Progress) { ps = append(ps, p) }}, nil); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1] != (Progress{Streams: 2, Done: 2, Records: 2}) {
		t.Fatalf("progress %+v", ps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c collector
	if err := (&Source{Store: r.root}).CatchUp(ctx, nil, c.fn); !errors.Is(err, context.Canceled) || len(c.recs) != 0 {
		t.Fatalf("cancelled CatchUp = %v with %d records; want context.Canceled, none", err, len(c.recs))
	}
}

func TestCatchUpUnregisteredStreams(t *testing.T) {
	r := newTestRoot(t)
	reg := r.append(sid("a/z"), 1)
	// Streams another tool wrote, or a crash left unregistered: found by
	// listing, after the registered ones, sorted by id.
	var un [][]string
	for _, id := range []string{"a/c", "a/b"} {
		path := r.root.LogPath(sid(id))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		line := r.event("E")
		if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		un = append(un, []string{line})
	}
	// A registered stream whose directory is gone is no stream.
	if err := r.root.Register(sid("a/gone"), false); err != nil {
		t.Fatal(err)
	}
	recs, err := catchUp(t, &Source{Store: r.root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(expect("a/z", 0, 0, reg), expect("a/b", 0, 0, un[1])...), expect("a/c", 0, 0, un[0])...)
	sameRecords(t, recs, want)
}
