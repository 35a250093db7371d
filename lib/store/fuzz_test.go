package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// FuzzParseStream: --stream T/ID is accepted only as a valid type and id
// that print back as given; a refusal quotes what it was given.
func FuzzParseStream(f *testing.F) {
	for _, s := range []string{"counter/alpha", "a/b/c", "/x", "x/", "./x", "t/..", "t/a\x00b", "t/a\xffb", "noslash", strings.Repeat("t", 256) + "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := store.ParseStream(s)
		if err != nil {
			if !strings.Contains(err.Error(), record.Quote(s)) && !strings.Contains(err.Error(), "not a single path segment") {
				t.Fatalf("refusal of %q does not name it: %v", s, err)
			}
			return
		}
		if id.String() != s || store.CheckStream(id) != nil || strings.Contains(id.Type, "/") {
			t.Fatalf("%q accepted as %+v", s, id)
		}
	})
}

// FuzzRegistry: whatever meta/streams.jsonl holds (torn lines, foreign
// ones, bad names), readers list each valid stream once, in file order,
// and registering what they listed in a new root reads back the same.
func FuzzRegistry(f *testing.F) {
	f.Add([]byte(`{"id":"alpha","ts":1764446400,"type":"counter"}` + "\n" + `{"id":"beta","ts":1,"type":"counter"}` + "\n"))
	f.Add([]byte(`{"id":"a","ts":1,"type":"t"}` + "\n" + `{"id":"a","ts":2,"type":"t"}` + "\n" + `{"id":"../x","ts":1,"type":"t"}` + "\n" + `{"id":"b","ts`))
	f.Add([]byte("not json\n\n{\"type\":\"t\",\"id\":\"\xff\"}\n{\"type\":\"t\",\"id\":\"c\",\"ts\":\"x\"}\n"))
	f.Add([]byte(`{"id":"a","ts":1,"type":"t"}` + "\n" + strings.Repeat("x", 2<<20) + "\n" + `{"id":"b","ts":1,"type":"t"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		r := store.Open(filepath.Join(dir, "a"))
		if err := os.MkdirAll(filepath.Dir(r.RegistryPath()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.RegistryPath(), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ids, err := r.StreamsUnchecked()
		if err != nil {
			t.Fatalf("registry %q: %v", data, err)
		}
		for i, id := range ids {
			if store.CheckStream(id) != nil || slices.Contains(ids[:i], id) {
				t.Fatalf("listed %+v from %q", id, data)
			}
			if !bytes.Contains(data, []byte(id.Type)) || !bytes.Contains(data, []byte(id.ID)) && !strings.ContainsRune(id.ID, '\\') {
				t.Fatalf("listed %+v, which %q does not spell", id, data)
			}
		}
		b := store.Open(filepath.Join(dir, "b"))
		for _, id := range ids {
			if err := b.Register(id, false); err != nil {
				t.Fatal(err)
			}
		}
		again, err := b.StreamsUnchecked()
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("registered again %+v reads as %+v, %v", ids, again, err)
		}
	})
}

// FuzzLoadSnapshot: a snapshot file of any content loads as one that
// ParseSnapshot accepts, or as an error naming the file; never a panic.
func FuzzLoadSnapshot(f *testing.F) {
	f.Add([]byte("{\n  \"state\": {\n    \"value\": 1\n  },\n  \"offset\": 360,\n  \"hash\": \"677b532c51340ee9\"\n}"))
	f.Add([]byte(`{"state":{"value":99},"offset":-5,"hash":"x","version":99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := store.Open(t.TempDir())
		id := record.StreamID{Type: "counter", ID: "a"}
		path := r.SnapshotPath(id)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		snap, err := r.LoadSnapshot(id)
		if err != nil {
			if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s as invalid", err, path)
			}
			return
		}
		if snap == nil || snap.Check() != nil {
			t.Fatalf("loaded %+v", snap)
		}
	})
}
