package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestKernelAtLeast(t *testing.T) {
	for release, want := range map[string]bool{
		"5.8.0":               true,
		"5.7.19":              false,
		"6.1.0-18-amd64":      true,
		"5.10-rc1":            true,
		"4.19.0":              false,
		"5.15.0-1051-azure":   true,
		"10.0":                true,
		"":                    false,
		"garbage":             false,
		"4.4.0-microsoft-wsl": false,
	} {
		if got := kernelAtLeast(release, 5, 8); got != want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v; want %v", release, got, want)
		}
	}
}

// TestSyncFS: the OS file system flushes whole file systems on Linux; a
// directory gone is nothing to flush, one that cannot be opened an error
// naming it.
func TestSyncFS(t *testing.T) {
	s, ok := OS.(FSSyncer)
	if !ok {
		t.Fatal("the OS file system cannot flush a whole file system on Linux")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.SyncFS([]string{dir, dir, filepath.Join(dir, "gone")})
	if !syncfsReportsErrors() {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("SyncFS before Linux 5.8 = %v; want ErrUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var pe *fs.PathError
	if err := s.SyncFS([]string{filepath.Join(dir, "f", "below")}); !errors.As(err, &pe) {
		t.Fatalf("SyncFS below a file = %v; want a path error", err)
	}
}

// A file opened only to read leaves its access time alone (O_NOATIME): a
// catch-up over many logs writes no inode back. On a relatime mount an
// access time two days old would otherwise be updated by this read.
func TestOpenToReadKeepsAccessTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	f, err := OS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	if _, err := f.Pread(b[:], 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if at := time.Unix(st.Atim.Unix()); !at.Equal(old) {
		t.Errorf("access time %v after a read, want %v as it was", at, old)
	}
}
