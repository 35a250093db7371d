package app

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	for path, content := range map[string]string{a: "from a\n", b: "from b\n"} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdin := strings.NewReader("from stdin\n")
	read := func(ins []Input) (names, content string) {
		for _, in := range ins {
			c, err := io.ReadAll(in.R)
			if err != nil {
				t.Fatal(err)
			}
			names += "[" + in.Name + "]"
			content += string(c)
		}
		return names, content
	}

	ins, closeAll, err := Inputs(nil, stdin)
	if err != nil {
		t.Fatal(err)
	}
	if names, content := read(ins); names != "[]" || content != "from stdin\n" {
		t.Errorf("no argument: %s %q, want stdin alone", names, content)
	}
	closeAll()

	stdin.Reset("from stdin\n")
	ins, closeAll, err = Inputs([]string{b, "-", a}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	if names, content := read(ins); names != "["+b+"][]["+a+"]" || content != "from b\nfrom stdin\nfrom a\n" {
		t.Errorf("files and -: %s %q, want them in order", names, content)
	}
	closeAll()
	if _, err := ins[0].R.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("a file after closeAll: %v, want it closed", err)
	}

	missing := filepath.Join(dir, "missing.jsonl")
	_, _, err = Inputs([]string{a, missing}, stdin)
	e, ok := errors.AsType[*ExitError](err)
	if want := (ExitError{Code: ExitUsage, Message: "open " + missing + ": no such file or directory", Hint: "name input files that exist, or - for stdin"}); !ok || *e != want {
		t.Errorf("a missing file: %#v, want %+v", err, want)
	}
}
