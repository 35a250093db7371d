//go:build unix

package vfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSyncEachParallel runs the group flush of the platforms without
// syncfs (macOS, the BSDs) here, through the same files.
func TestSyncEachParallel(t *testing.T) {
	dir := t.TempDir()
	var files []File
	var dirs []string
	for i := range 12 {
		d := filepath.Join(dir, string(rune('a'+i)))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := OS.OpenFile(filepath.Join(d, "app.jsonl"), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("{}\n")); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		dirs = append(dirs, d)
	}
	o := osFS{}
	for _, parallel := range []int{1, 3, 8, 64} {
		if err := o.syncEach(files, dirs, parallel); err != nil {
			t.Fatalf("parallel %d: %v", parallel, err)
		}
	}
	// A failure anywhere in the group is the group's failure.
	files[5].Close()
	for _, parallel := range []int{1, 8} {
		if err := o.syncEach(files, dirs, parallel); err == nil {
			t.Fatalf("parallel %d: a closed file's flush did not fail the group", parallel)
		}
	}
	if err := o.syncEach(nil, []string{filepath.Join(dir, "missing")}, 8); err == nil {
		t.Fatal("a missing directory's flush did not fail")
	}
}
