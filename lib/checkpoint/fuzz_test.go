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
