package checkpoint

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// FuzzLoad: a checkpoint file of any content loads, or is a BadError
// naming the file; what loads saves and loads back the same.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("{\n  \"state\": {\n    \"total_increments\": 6\n  },\n  \"cursors\": {\n    \"counter/alpha\": {\n      \"offset\": 487,\n      \"hash\": \"477053ed4b97daed\"\n    }\n  }\n}"))
	f.Add([]byte(`{"state":null,"cursors":{}}`))
	f.Add([]byte(`{"state":1,"cursors":{"t/a":{"offset":-1,"hash":""}}}`))
	f.Add([]byte(`{"cursors":null}`))
	f.Add([]byte(`{"state":"é\u2028","cursors":{"t/\ud800":{"offset":1,"hash":"x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		cf := At(dir)
		if err := os.WriteFile(cf.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cp, found, err := cf.Load()
		if err != nil {
			var bad *BadError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), cf.Path) {
				t.Fatalf("error %v is not a BadError naming %s", err, cf.Path)
			}
			return
		}
		if !found || cp.Cursors == nil || !record.Valid(cp.State) || bytes.ContainsAny(cp.State, "\n") {
			t.Fatalf("loaded %+v, found %v", cp, found)
		}
		for k, c := range cp.Cursors {
			if c.Offset < 0 {
				t.Fatalf("cursor %q at %d", k, c.Offset)
			}
		}
		again := At(filepath.Join(dir, "again"))
		if err := again.Save(cp); err != nil {
			t.Fatalf("save %+v: %v", cp, err)
		}
		back, _, err := again.Load()
		if err != nil || !bytes.Equal(back.State, cp.State) || !maps.Equal(back.Cursors, cp.Cursors) {
			t.Fatalf("%q saved and loaded as %+v, %v; want %+v", data, back, err, cp)
		}
	})
}

// FuzzSplitCursors: where the cursors are read by hand, the checkpoint
// loaded is the one the JSON decoder reads from the whole file.
func FuzzSplitCursors(f *testing.F) {
	f.Add([]byte("{\n  \"state\": {\n    \"cursors\": 6\n  },\n  \"cursors\": {\n    \"counter/alpha\": {\n      \"offset\": 487,\n      \"hash\": \"477053ed4b97daed\"\n    }\n  }\n}"))
	f.Add([]byte(`{"cursors":{"t/a":{"hash":"x","offset":0},"t/b":{"offset":12,"hash":""}},"state":[1,"}",{"a":null}]}`))
	f.Add([]byte(`{"state":null,"cursors":{},"other":true}`))
	f.Add([]byte(`{"cursors":{"t/a":{"offset":1,"hash":"x"},"t/a":{"offset":2,"hash":"y"}}}`))
	f.Add([]byte(`{"cursors":{"t/a":{"offset":1,"hash":"x"}},"Cursors":{"t/b":{"offset":2,"hash":"y"}}}`))
	f.Add([]byte(`{"cursors":{"t/a":{"offset":01,"hash":"x"}}}`))
	f.Add([]byte(`{"cursors":{"t/a":{"offset":1,"hash":"x"},}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cursors, rest, ok := splitCursors(data)
		if !ok {
			return
		}
		var split record.Checkpoint
		if record.Unmarshal(rest, &split) != nil || len(split.Cursors) != 0 {
			return // the whole file is read then
		}
		var whole record.Checkpoint
		if err := record.Unmarshal(data, &whole); err != nil {
			t.Fatalf("%q: split, but the decoder fails on the whole: %v", data, err)
		}
		if !maps.Equal(cursors, whole.Cursors) || !bytes.Equal(split.State, whole.State) {
			t.Fatalf("%q: split as %v, %s; the decoder reads %v, %s", data, cursors, split.State, whole.Cursors, whole.State)
		}
	})
}
