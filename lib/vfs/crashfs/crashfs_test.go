package crashfs_test

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"

	"github.com/fold-es/fold/lib/vfs"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

func open(t *testing.T, c *crashfs.FS, name string) vfs.File {
	t.Helper()
	f, err := c.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t *testing.T, f vfs.File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func read(c *crashfs.FS, name string) (string, error) {
	b, err := vfs.ReadFile(c, name)
	return string(b), err
}

// TestStrictPowerCut: a power cut keeps what was synced, data and names
// each by their own sync, and nothing else.
func TestStrictPowerCut(t *testing.T) {
	c := crashfs.New()
	if err := c.Mkdir("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	f := open(t, c, "/d/log")
	write(t, f, "synced\n")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	write(t, f, "not\n")

	// The file's data is synced, but not its name, nor its directory's.
	if _, err := read(c.PowerCut(nil), "/d/log"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a name never synced survived: %v", err)
	}
	if err := c.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if _, err := read(c.PowerCut(nil), "/d/log"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a name in an unsynced directory survived: %v", err)
	}
	if err := c.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	after := c.PowerCut(nil)
	if s, err := read(after, "/d/log"); err != nil || s != "synced\n" {
		t.Fatalf("after the cut: %q, %v; want the synced line alone", s, err)
	}
	// What survived is durable on the new file system.
	if s, _ := read(after.PowerCut(nil), "/d/log"); s != "synced\n" {
		t.Fatalf("a second cut lost %q", s)
	}
	// The old file system goes on as before.
	if s, _ := read(c, "/d/log"); s != "synced\nnot\n" {
		t.Fatalf("reads see %q", s)
	}
}

// TestRandomCutsArePrefixes: with random choices a cut keeps, of a file's
// unsynced writes, a prefix (the last possibly torn), and of a
// directory's unsynced names, a prefix in order: every length shows up.
func TestRandomCutsArePrefixes(t *testing.T) {
	c := crashfs.New()
	f := open(t, c, "/log")
	write(t, f, "a\n")
	if err := f.Sync(); err != nil || c.SyncDir("/") != nil {
		t.Fatal(err)
	}
	write(t, f, "bb\n")
	write(t, f, "ccc\n")
	for _, n := range []string{"/x", "/y"} {
		if err := c.Mkdir(n, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	full := "a\nbb\nccc\n"
	lengths := map[int]bool{}
	dirs := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		after := c.PowerCut(rng)
		s, err := read(after, "/log")
		if err != nil || !bytes.HasPrefix([]byte(full), []byte(s)) || len(s) < 2 {
			t.Fatalf("cut kept %q, %v: not a prefix holding the synced line", s, err)
		}
		lengths[len(s)] = true
		_, x := after.Stat("/x")
		_, y := after.Stat("/y")
		if x != nil && y == nil {
			t.Fatal("y survived without x, made before it")
		}
		dirs[(map[bool]string{true: "x", false: "-"})[x == nil]+(map[bool]string{true: "y", false: "-"})[y == nil]] = true
	}
	for n := 2; n <= len(full); n++ {
		if !lengths[n] {
			t.Errorf("no cut kept %d bytes (kept: %v)", n, lengths)
		}
	}
	if len(dirs) != 3 {
		t.Errorf("directory outcomes %v; want --, x-, xy", dirs)
	}
}

// TestFailedSyncIsNotRetried: after a failed sync the data written before
// it is never made durable by a later sync, though reads still see it
// (Linux after a writeback error); what is written after it is.
func TestFailedSyncIsNotRetried(t *testing.T) {
	c := crashfs.New()
	f := open(t, c, "/log")
	if err := c.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	write(t, f, "kept\n")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	write(t, f, "lost\n")
	c.Fail(func(op crashfs.Op) error {
		if op.Kind == crashfs.Sync {
			return syscall.EIO
		}
		return nil
	})
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync = %v; want EIO", err)
	}
	c.Fail(nil)
	if s, _ := read(c, "/log"); s != "kept\nlost\n" {
		t.Fatalf("reads see %q; want both lines", s)
	}
	write(t, f, "late\n")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	s, _ := read(c.PowerCut(nil), "/log")
	if want := "kept\n\x00\x00\x00\x00\x00late\n"; s != want {
		t.Fatalf("after the cut: %q; want %q (a hole where the lost line was)", s, want)
	}
}

// TestFailedWrite: a failed write changes nothing; the error is the one
// asked for.
func TestFailedWrite(t *testing.T) {
	c := crashfs.New()
	f := open(t, c, "/log")
	write(t, f, "one\n")
	var seen []crashfs.Op
	c.Fail(func(op crashfs.Op) error {
		seen = append(seen, op)
		if op.Kind == crashfs.Write {
			return syscall.ENOSPC
		}
		return nil
	})
	if n, err := f.Write([]byte("two\n")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write = %d, %v; want 0, ENOSPC", n, err)
	}
	if err := c.Rename("/log", "/other"); err != nil {
		t.Fatal(err)
	}
	if s, _ := read(c, "/other"); s != "one\n" {
		t.Fatalf("file holds %q", s)
	}
	if len(seen) < 2 || seen[0] != (crashfs.Op{Kind: crashfs.Write, Path: "/log"}) || seen[1] != (crashfs.Op{Kind: crashfs.Rename, Path: "/log"}) {
		t.Fatalf("the injector saw %v", seen)
	}
}

// TestRecordCuts keeps one cut per change, each as the cut at that moment.
func TestRecordCuts(t *testing.T) {
	c := crashfs.New()
	c.RecordCuts(rand.New(rand.NewPCG(3, 4)))
	f := open(t, c, "/log") // create
	write(t, f, "x\n")      // write
	if err := c.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	cuts := c.TakeCuts()
	if len(cuts) != 4 || c.Changes() != 4 {
		t.Fatalf("%d cuts, %d changes; want 4", len(cuts), c.Changes())
	}
	if cuts[3].After.Kind != crashfs.Sync || cuts[3].Change != 4 {
		t.Fatalf("last cut after %+v", cuts[3])
	}
	if s, err := read(cuts[3].FS, "/log"); err != nil || s != "x\n" {
		t.Fatalf("after the last change the cut holds %q, %v", s, err)
	}
	if len(c.TakeCuts()) != 0 {
		t.Fatal("cuts handed over twice")
	}
}

func TestNoExchange(t *testing.T) {
	c := crashfs.New()
	open(t, c, "/a")
	open(t, c, "/b")
	c.NoExchange()
	if err := c.Exchange("/a", "/b"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("exchange = %v; want unsupported", err)
	}
}

// TestWriteFileAtomicFaults: whichever step of a durable replacement fails
// (the write, the sync, the rename, the directory sync), the error is
// reported, no temporary file stays, and the file holds the old content
// or (when only the directory sync failed) the new; a power cut after a
// success keeps the new content.
func TestWriteFileAtomicFaults(t *testing.T) {
	for _, kind := range []crashfs.Kind{crashfs.Create, crashfs.Write, crashfs.Sync, crashfs.Rename, crashfs.SyncDir} {
		t.Run(string(kind), func(t *testing.T) {
			c := crashfs.New()
			const name = "/d/checkpoint.json"
			if err := vfs.WriteFileAtomic(c, name, []byte("old"), true); err != nil {
				t.Fatal(err)
			}
			if s, _ := read(c.PowerCut(nil), name); s != "old" {
				t.Fatalf("after a durable write and a power cut: %q", s)
			}
			c.Fail(func(op crashfs.Op) error {
				if op.Kind == kind {
					return syscall.EIO
				}
				return nil
			})
			if err := vfs.WriteFileAtomic(c, name, []byte("new"), true); !errors.Is(err, syscall.EIO) {
				t.Fatalf("WriteFileAtomic = %v; want EIO", err)
			}
			c.Fail(nil)
			want := "old"
			if kind == crashfs.SyncDir {
				want = "new"
			}
			if s, _ := read(c, name); s != want {
				t.Fatalf("file holds %q; want %q", s, want)
			}
			if ents, _ := c.ReadDir("/d"); len(ents) != 1 {
				t.Fatalf("directory holds %d entries; want the file alone", len(ents))
			}
			if s, _ := read(c.PowerCut(nil), name); s != "old" {
				t.Fatalf("a power cut after the failure kept %q; want the old content", s)
			}
		})
	}
}
