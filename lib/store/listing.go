package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/fold-es/fold/lib/record"
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
		entries, err := fsys.ReadDir(filepath.Join(streams, typ))
		if err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
		out = slices.Grow(out, len(entries))
		for _, d := range entries {
			// A stream's directory, or a link to one: the log's stat
			// says which links lead to a stream.
			if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
				out = append(out, record.StreamID{Type: typ, ID: d.Name()})
			}
		}
	}
	return out, nil
}
