package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/fold-es/fold/lib/vfs"
)

// SyncAll makes every log of the root durable as it is now, with one
// syncfs(2) per file system its streams are on (a type's directory may be
// a mount of its own); an error wrapping errors.ErrUnsupported where the
// platform has no such call.
func (r Root) SyncAll() error {
	s, ok := r.fs().(vfs.FSSyncer)
	if !ok {
		return fmt.Errorf("flush root %s at once: %w", r.Dir, errors.ErrUnsupported)
	}
	streams := filepath.Join(r.Dir, "streams")
	dirs := []string{streams}
	entries, err := r.fs().ReadDir(streams)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(streams, e.Name()))
		}
	}
	return s.SyncFS(dirs)
}
