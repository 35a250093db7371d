package vfs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fold-es/fold/lib/vfs"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// eachFS runs a test on the real file system and on crashfs: the layers
// above see only the interface, so both must behave alike.
func eachFS(t *testing.T, fn func(t *testing.T, fsys vfs.FS, dir string)) {
	t.Run("os", func(t *testing.T) { fn(t, vfs.OS, t.TempDir()) })
	t.Run("crashfs", func(t *testing.T) {
		c := crashfs.New()
		if err := c.Mkdir("/t", 0o755); err != nil || c.SyncDir("/") != nil {
			t.Fatal(err)
		}
		fn(t, c, "/t")
	})
}

func mustOpen(t *testing.T, fsys vfs.FS, name string, flag int) vfs.File {
	t.Helper()
	f, err := fsys.OpenFile(name, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWriteReadTruncate(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		name := filepath.Join(dir, "log")
		w := mustOpen(t, fsys, name, os.O_RDWR|os.O_CREATE|os.O_APPEND)
		for _, s := range []string{"abc\n", "de"} {
			if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
				t.Fatalf("write %q = %d, %v", s, n, err)
			}
		}
		if n, err := w.Size(); err != nil || n != 6 {
			t.Fatalf("size = %d, %v; want 6", n, err)
		}
		r := mustOpen(t, fsys, name, os.O_RDONLY)
		buf := make([]byte, 10)
		if n, err := r.Pread(buf, 2); err != nil || string(buf[:n]) != "c\nde" {
			t.Fatalf("pread at 2 = %q, %v; want the rest, short", buf[:n], err)
		}
		if n, err := r.Pread(buf, 6); err != nil || n != 0 {
			t.Fatalf("pread at the end = %d, %v; want 0, nil", n, err)
		}
		if n, err := vfs.ReadAt(r, buf[:3], 4); err != io.EOF || n != 2 {
			t.Fatalf("ReadAt past the end = %d, %v; want 2, EOF", n, err)
		}
		if err := w.Truncate(4); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("xy")); err != nil {
			t.Fatal(err)
		}
		if data, err := vfs.ReadFile(fsys, name); err != nil || string(data) != "abc\nxy" {
			t.Fatalf("after truncate and append: %q, %v", data, err)
		}
		if _, err := r.Write([]byte("no")); err == nil {
			t.Fatal("a file opened for reading took a write")
		}
	})
}

func TestOpenErrors(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		name := filepath.Join(dir, "f")
		mustOpen(t, fsys, name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if _, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
			t.Errorf("exclusive create of an existing file: %v", err)
		}
		for _, missing := range []string{filepath.Join(dir, "nope"), filepath.Join(dir, "no", "f")} {
			if _, err := fsys.OpenFile(missing, os.O_RDONLY, 0); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("open %s: %v; want not exist", missing, err)
			}
		}
		if _, err := fsys.OpenFile(dir, os.O_RDWR|os.O_APPEND, 0); err == nil {
			t.Error("a directory opened for writing")
		}
		if _, err := fsys.OpenFile(filepath.Join(name, "x"), os.O_RDWR|os.O_CREATE, 0o644); err == nil {
			t.Error("a file created under a file")
		}
	})
}

func TestLock(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		name := filepath.Join(dir, "log")
		a := mustOpen(t, fsys, name, os.O_RDWR|os.O_CREATE)
		b := mustOpen(t, fsys, name, os.O_RDWR)
		if ok, err := a.TryLock(); !ok || err != nil {
			t.Fatalf("first lock = %v, %v", ok, err)
		}
		if ok, err := b.TryLock(); ok || err != nil {
			t.Fatalf("second open file's lock while held = %v, %v; want false, nil", ok, err)
		}
		if err := a.Unlock(); err != nil {
			t.Fatal(err)
		}
		if ok, err := b.TryLock(); !ok || err != nil {
			t.Fatalf("lock after unlock = %v, %v", ok, err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
		if ok, err := a.TryLock(); !ok || err != nil {
			t.Fatalf("lock after the holder closed = %v, %v", ok, err)
		}
	})
}

func TestMkdirAllAndRemoveDirs(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		deep := filepath.Join(dir, "a", "b", "c")
		made, err := vfs.MkdirAll(fsys, deep, 0o755)
		want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b"), deep}
		if err != nil || !slices.Equal(made, want) {
			t.Fatalf("MkdirAll = %v, %v; want %v", made, err, want)
		}
		if made, err := vfs.MkdirAll(fsys, deep, 0o755); err != nil || made != nil {
			t.Fatalf("MkdirAll again = %v, %v; want nothing made", made, err)
		}
		if got := vfs.Parents(want); !slices.Equal(got, []string{dir, want[0], want[1]}) {
			t.Fatalf("Parents = %v", got)
		}
		// Someone put a file in a/b: only c goes.
		mustOpen(t, fsys, filepath.Join(dir, "a", "b", "keep"), os.O_WRONLY|os.O_CREATE)
		vfs.RemoveDirs(fsys, made)
		if _, err := fsys.Stat(deep); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("c still there: %v", err)
		}
		if st, err := fsys.Stat(want[1]); err != nil || !st.IsDir() {
			t.Errorf("b, no longer empty, was removed: %v", err)
		}
		file := filepath.Join(dir, "a", "b", "keep")
		if _, err := vfs.MkdirAll(fsys, filepath.Join(file, "x"), 0o755); err == nil {
			t.Error("MkdirAll under a file succeeded")
		}
	})
}

func TestNames(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		write := func(name, s string) {
			t.Helper()
			f := mustOpen(t, fsys, name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
			if _, err := f.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		read := func(name string) string {
			t.Helper()
			data, err := vfs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
		write(a, "one")
		write(b, "two")
		err := fsys.Exchange(a, b)
		switch {
		case err == nil:
			if read(a) != "two" || read(b) != "one" {
				t.Errorf("after exchange a=%q b=%q", read(a), read(b))
			}
		case fsys == vfs.OS:
			t.Logf("exchange not supported here: %v", err) // tmpfs before 3.15, or not Linux
		default:
			t.Fatalf("crashfs exchange: %v", err)
		}
		write(a, "new")
		if err := fsys.Rename(a, b); err != nil {
			t.Fatal(err)
		}
		if read(b) != "new" {
			t.Errorf("after rename b=%q", read(b))
		}
		if _, err := fsys.Stat(a); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a after rename: %v", err)
		}
		if err := fsys.Mkdir(a, 0o755); err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(a, "in"), "x")
		if err := fsys.Rename(b, a); err == nil {
			t.Error("a file renamed over a directory")
		}
		if err := fsys.Remove(a); err == nil {
			t.Error("a directory with a file in it was removed")
		}
		var names []string
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			names = append(names, e.Name())
			if e.Name() == "a" != e.IsDir() {
				t.Errorf("%s: IsDir %v", e.Name(), e.IsDir())
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"a", "b"}) {
			t.Errorf("ReadDir = %v", names)
		}
		if st, err := fsys.Stat(b); err != nil || st.Size() != 3 || st.IsDir() || !st.Mode().IsRegular() {
			t.Errorf("Stat b = %v, %v", st, err)
		}
		for _, n := range []string{filepath.Join(a, "in"), a, b} {
			if err := fsys.Remove(n); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestWriteFileAtomic(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		name := filepath.Join(dir, "new", "dir", "checkpoint.json")
		for i, s := range []string{"first", "second, longer", "3rd"} {
			if err := vfs.WriteFileAtomic(fsys, name, []byte(s), i != 1); err != nil {
				t.Fatal(err)
			}
			if data, err := vfs.ReadFile(fsys, name); err != nil || string(data) != s {
				t.Fatalf("read back %q, %v; want %q", data, err, s)
			}
		}
		ents, err := fsys.ReadDir(filepath.Dir(name))
		if err != nil || len(ents) != 1 {
			t.Fatalf("directory holds %v, %v; want the file alone (no temp files)", ents, err)
		}
		if err := vfs.WriteFileAtomic(fsys, filepath.Join(name, "x"), []byte("x"), true); err == nil {
			t.Fatal("written under a file")
		}
	})
}

func TestSyncAll(t *testing.T) {
	eachFS(t, func(t *testing.T, fsys vfs.FS, dir string) {
		var files []vfs.File
		var dirs []string
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			d := filepath.Join(dir, n)
			if err := fsys.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			f := mustOpen(t, fsys, filepath.Join(d, "app.jsonl"), os.O_RDWR|os.O_CREATE|os.O_APPEND)
			if _, err := f.Write([]byte(n + "\n")); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
			dirs = append(dirs, d)
		}
		// Groups below and above the size where Linux uses syncfs.
		for _, k := range []int{0, 1, 2, 5} {
			if err := fsys.SyncAll(files[:k], append(dirs[:k:k], dir)); err != nil {
				t.Fatalf("SyncAll of %d: %v", k, err)
			}
		}
		if c, ok := fsys.(*crashfs.FS); ok {
			after := c.PowerCut(nil)
			for i, n := range []string{"a", "b", "c", "d", "e"} {
				data, err := vfs.ReadFile(after, filepath.Join(dirs[i], "app.jsonl"))
				if err != nil || !bytes.Equal(data, []byte(n+"\n")) {
					t.Errorf("after a power cut %s holds %q, %v", n, data, err)
				}
			}
		}
	})
}
