package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// StreamLister is a Store that can list its streams from their
// directories alone, in no order: without reading the registry, which a
// reader needs only to order the streams it has something to read from.
type StreamLister interface {
	// StreamDirs lists the streams of types (all when none) that have a
	// directory, in no particular order. A stream listed may have no log
	// yet; a registered stream whose directory is gone is not listed.
	StreamDirs(types ...string) ([]record.StreamID, error)
}

// StreamDirs lists the stream directories of types (see StreamLister). A
// root that does not exist has none.
func (r Root) StreamDirs(types ...string) ([]record.StreamID, error) {
	fsys := r.fs()
	streams := filepath.Join(r.Dir, "streams")
	typeDirs, err := fsys.ReadDir(streams)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	var out []record.StreamID
	for _, td := range typeDirs {
		typ := td.Name()
		if !td.IsDir() || (len(types) > 0 && !slices.Contains(types, typ)) {
			continue
		}
		if out, err = r.streamDirs(out, typ); err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
	}
	return out, nil
}

// streamDirsOf appends to out the streams of typ that have a directory,
// from the directory's entries.
func streamDirsOf(fsys vfs.FS, out []record.StreamID, dir, typ string) ([]record.StreamID, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return out, err
	}
	out = slices.Grow(out, len(entries))
	for _, d := range entries {
		if streamEntry(d.Type()) {
			out = append(out, record.StreamID{Type: typ, ID: d.Name()})
		}
	}
	return out, nil
}

// streamEntry reports whether a directory entry of type t may be a
// stream: a directory, a link (the log's stat says where it leads), or
// one the file system did not type.
func streamEntry(t fs.FileMode) bool {
	return t.IsDir() || t&fs.ModeSymlink != 0 || t&fs.ModeIrregular != 0
}
