package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Progress is for people: nothing is drawn into a buffer, a file or a pipe.
func TestNoProgressOffTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "err"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]any{"a buffer": &bytes.Buffer{}, "a file": file, "a pipe": w} {
		w := out.(interface{ Write([]byte) (int, error) })
		if IsTerminal(w) {
			t.Errorf("%s is taken for a terminal", name)
		}
		if p := NewProgress(w, "prog"); p != nil {
			t.Errorf("%s: a progress line", name)
		}
	}
	// A nil Progress draws nothing, and its callbacks are none.
	var p *Progress
	p.Show("%d", 1)
	p.Done()
	if p.CatchUp("x") != nil {
		t.Error("CatchUp of no progress is a callback")
	}
	if st, _ := file.Stat(); st.Size() != 0 {
		t.Errorf("%d bytes written to the file", st.Size())
	}
}
