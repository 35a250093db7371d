// Package checkpoint keeps the saved position of a consumer of the store:
// a projection (projections/N), a process manager (process_managers/N) or
// a durable fold-watch consumer (consumers/N). The file is
// <dir>/checkpoint.json in the eventfold-es 0.2.0 format,
// {"state":S,"cursors":{"type/id":{"offset":N,"hash":H}}}, pretty-printed
// with two spaces and replaced atomically and durably. Beside it,
// checkpoint.json.lock holds the lock that lets one run per name at a time.
package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// FileName is the checkpoint's name inside its directory.
const FileName = "checkpoint.json"

// File is one consumer's checkpoint file and its lock.
type File struct {
	Path string // <dir>/checkpoint.json
	FS   vfs.FS // where it is read and written; nil: vfs.OS
}

func (f File) fs() vfs.FS {
	if f.FS == nil {
		return vfs.OS
	}
	return f.FS
}

// At returns the checkpoint kept in dir, e.g. store.Root.ProjectionDir(name).
func At(dir string) File {
	return File{Path: filepath.Join(dir, FileName)}
}

// LockPath is the lock file beside the checkpoint.
func (f File) LockPath() string { return f.Path + ".lock" }

// BadError is a checkpoint file that exists but cannot be read as one.
type BadError struct {
	Path string
	Err  error
}

func (e *BadError) Error() string {
	return fmt.Sprintf("checkpoint %s is not readable: %v", record.Quote(e.Path), e.Err)
}

// Unwrap returns the decoding error.
func (e *BadError) Unwrap() error { return e.Err }

// Load reads the checkpoint. found is false, with an empty checkpoint (state
// null, no cursors), when there is no file: the consumer has never saved
// one. The state is returned compacted, so it can be embedded in a request
// line even though the file is pretty-printed.
func (f File) Load() (cp record.Checkpoint, found bool, err error) {
	cp, _, found, err = f.LoadSum()
	return cp, found, err
}

// LoadSum is Load that also returns the file's Sum ("" when not found), so
// a note can vouch for exactly this checkpoint.
func (f File) LoadSum() (cp record.Checkpoint, sum string, found bool, err error) {
	cp = Empty()
	data, err := vfs.ReadFile(f.fs(), f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return cp, "", false, nil
	}
	if err != nil {
		return cp, "", false, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, err = f.decode(data)
	if err != nil {
		return cp, "", false, err
	}
	return cp, Sum(data), true, nil
}

// Sum is what identifies a checkpoint file's content: its xxh64 hash.
// Another checkpoint put in its place (copied in, or written by
// eventfold-es) has another.
func Sum(data []byte) string { return record.Hash(data) }

func (f File) decode(data []byte) (record.Checkpoint, error) {
	cp := Empty()
	var raw record.Checkpoint
	if cursors, rest, ok := splitCursors(data); ok && record.Unmarshal(rest, &raw) == nil && len(raw.Cursors) == 0 {
		raw.Cursors = cursors
	} else if err := record.Unmarshal(data, &raw); err != nil {
		return cp, &BadError{Path: f.Path, Err: err}
	}
	if !record.IsNull(raw.State) {
		var err error
		if cp.State, err = record.CompactState(raw.State); err != nil {
			return cp, &BadError{Path: f.Path, Err: err}
		}
	}
	for k, c := range raw.Cursors {
		if c.Offset < 0 {
			return cp, &BadError{Path: f.Path, Err: fmt.Errorf("cursor %s has a negative offset (%d)", record.Quote(k), c.Offset)}
		}
	}
	if raw.Cursors != nil {
		cp.Cursors = raw.Cursors
	}
	return cp, nil
}

// Empty returns the checkpoint of a consumer that has read nothing.
func Empty() record.Checkpoint {
	return record.Checkpoint{State: record.Null, Cursors: map[string]record.Cursor{}}
}

// Save replaces the checkpoint with cp: written to a temporary file,
// fsynced, renamed over the old one, and the directory fsynced. A crash
// leaves the old checkpoint or the new one, never a mix.
func (f File) Save(cp record.Checkpoint) error {
	_, err := f.SaveSum(cp)
	return err
}

// SaveSum is Save that also returns the Sum of what it wrote.
func (f File) SaveSum(cp record.Checkpoint) (string, error) {
	if cp.State == nil {
		cp.State = record.Null
	}
	if cp.Cursors == nil {
		cp.Cursors = map[string]record.Cursor{}
	}
	data, err := record.MarshalIndent(cp)
	if err != nil {
		return "", fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := vfs.WriteFileAtomic(f.fs(), f.Path, data, true); err != nil {
		return "", err
	}
	return Sum(data), nil
}
