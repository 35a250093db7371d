//go:build !linux

package store

import (
	"path/filepath"

	"github.com/fold-es/fold/lib/record"
)

// streamDirs appends to out the streams of typ that have a directory.
func (r Root) streamDirs(out []record.StreamID, typ string) ([]record.StreamID, error) {
	return streamDirsOf(r.fs(), out, filepath.Join(r.Dir, "streams", typ), typ)
}
