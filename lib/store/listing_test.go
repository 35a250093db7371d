package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

func TestStreamDirsAndStatLog(t *testing.T) {
	r := Open(filepath.Join(t.TempDir(), "root"))
	if ids, err := r.StreamDirs(); err != nil || len(ids) != 0 {
		t.Fatalf("StreamDirs of a missing root = %v, %v; want none", ids, err)
	}
	write := func(typ, id, content string) {
		t.Helper()
		sid := record.StreamID{Type: typ, ID: id}
		if err := os.MkdirAll(r.StreamDir(sid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.LogPath(sid), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("counter", "a", "{}\n")
	write("counter", "b", "")
	write("order", "1", "{}\n{}\n")
	// a link to a stream's directory is a stream; a stray file is not
	if err := os.Symlink(r.StreamDir(record.StreamID{Type: "counter", ID: "a"}), filepath.Join(r.Dir, "streams", "counter", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "streams", "counter", "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	names := func(types ...string) []string {
		ids, err := r.StreamDirs(types...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, id := range ids {
			out = append(out, id.String())
		}
		slices.Sort(out)
		return out
	}
	if got, want := names(), []string{"counter/a", "counter/b", "counter/link", "order/1"}; !slices.Equal(got, want) {
		t.Errorf("StreamDirs() = %q; want %q", got, want)
	}
	if got, want := names("order"), []string{"order/1"}; !slices.Equal(got, want) {
		t.Errorf("StreamDirs(order) = %q; want %q", got, want)
	}

	before := time.Now().Add(-time.Second)
	st, err := r.StatLog(record.StreamID{Type: "order", ID: "1"})
	if err != nil || st.Size != 6 {
		t.Fatalf("StatLog = %+v, %v; want size 6", st, err)
	}
	if runtime.GOOS == "linux" && (st.Changed.Before(before) || st.Changed.After(time.Now().Add(time.Second))) {
		t.Errorf("StatLog's change time %v is not about now", st.Changed)
	}
	if _, err := r.StatLog(record.StreamID{Type: "order", ID: "2"}); !errors.Is(err, ErrNoStream) {
		t.Errorf("StatLog of a missing stream = %v; want ErrNoStream", err)
	}

	// TypeStater says what StatLog says, through a link too
	stat, done := r.TypeStater("counter")
	defer done()
	for _, id := range []string{"a", "b", "link"} {
		want, werr := r.StatLog(record.StreamID{Type: "counter", ID: id})
		got, err := stat(id)
		if err != nil || werr != nil || got != want {
			t.Errorf("TypeStater(counter)(%q) = %+v, %v; StatLog says %+v, %v", id, got, err, want, werr)
		}
	}
	for _, id := range []string{"nope", "stray"} {
		if _, err := stat(id); !errors.Is(err, ErrNoStream) {
			t.Errorf("TypeStater(counter)(%q) = %v; want ErrNoStream", id, err)
		}
	}
	if err := os.MkdirAll(r.LogPath(record.StreamID{Type: "counter", ID: "d"}), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := stat("d"); err == nil || errors.Is(err, ErrNoStream) {
		t.Errorf("TypeStater of a log that is a directory = %v; want an error", err)
	}
	missing, done2 := r.TypeStater("none")
	defer done2()
	if _, err := missing("x"); !errors.Is(err, ErrNoStream) {
		t.Errorf("TypeStater of a missing type = %v; want ErrNoStream", err)
	}
}

// A type of more streams than one read of its directory returns.
func TestStreamDirsMany(t *testing.T) {
	r := Open(filepath.Join(t.TempDir(), "root"))
	const n = 12000
	want := make([]string, 0, n)
	for i := range n {
		id := record.StreamID{Type: "counter", ID: fmt.Sprintf("instance-%06d", i)}
		if err := os.MkdirAll(r.StreamDir(id), 0o755); err != nil {
			t.Fatal(err)
		}
		want = append(want, id.String())
	}
	ids, err := r.StreamDirs("counter")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(ids))
	for _, id := range ids {
		got = append(got, id.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("StreamDirs listed %d streams, %q…; want %d", len(got), got[:min(3, len(got))], n)
	}
}
