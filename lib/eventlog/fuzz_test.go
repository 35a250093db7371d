package eventlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fold-es/fold/lib/vfs"
)

// FuzzScan checks that any file content scans without panicking, that
// every entry ends in a newline at its offset, and that what is not passed
// as an entry is exactly the torn tail.
func FuzzScan(f *testing.F) {
	f.Add([]byte(line1 + "\n" + line2 + "\n"))
	f.Add([]byte(line1 + "\nnot json\n{\"type\":"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "app.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fl, err := OpenReader(vfs.OS, path)
		if err != nil {
			t.Fatal(err)
		}
		defer fl.Close()
		var n uint64
		tail, err := fl.Scan(Tail{}, -1, func(e Entry) error {
			n++
			if data[e.End-1] != '\n' || !bytes.Equal(data[e.Start:e.End-1], e.Line) || e.Version != n {
				t.Fatalf("entry %+v does not match the file", e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if tail.Offset+tail.Torn != int64(len(data)) || tail.Version != uint64(bytes.Count(data, []byte{'\n'})) {
			t.Fatalf("tail %+v for %d bytes", tail, len(data))
		}
	})
}
