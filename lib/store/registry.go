package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// Register appends a stream to meta/streams.jsonl. Lines are small and
// written with O_APPEND in one write, so concurrent writers do not
// interleave. A registry whose last line was torn (a crash mid-write) gets
// a newline first, so the new line is not merged into the torn one. With
// durable set, the registry file is synced. Directories it had to make
// are removed again when it fails.
func (r Root) Register(id record.StreamID, durable bool) error {
	_, err := r.register(id, durable)
	return err
}

// register is Register, reporting the directories it made.
func (r Root) register(id record.StreamID, durable bool) (made []string, err error) {
	line, err := record.Marshal(record.RegistryEntry{ID: id.ID, Ts: time.Now().Unix(), Type: id.Type})
	if err != nil {
		return nil, fmt.Errorf("register stream: %w", err)
	}
	fsys := r.fs()
	path := r.RegistryPath()
	made, err = vfs.MkdirAll(fsys, filepath.Dir(path), 0o755)
	if err == nil {
		err = appendRegistry(fsys, path, line, durable)
	}
	if err != nil {
		// A registry in a directory made just now is this call's: it goes
		// too, so nothing of the root is left that no one would sync.
		if len(made) > 0 {
			_ = fsys.Remove(path)
		}
		vfs.RemoveDirs(fsys, made)
		return nil, fmt.Errorf("register stream: %w", err)
	}
	return made, nil
}

func appendRegistry(fsys vfs.FS, path string, line []byte, durable bool) error {
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if size, err := f.Size(); err == nil && size > 0 {
		var last [1]byte
		if n, err := f.Pread(last[:], size-1); err == nil && n == 1 && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	if durable {
		return f.Sync()
	}
	return nil
}

// maxRegistryLine bounds a registry line: an entry is a few hundred bytes.
const maxRegistryLine = 64 << 10

// Streams lists the root's streams in discovery order: the registry's
// creation order first, then any stream directory the registry misses (a
// crash between the two writes, or another tool), sorted by type and id.
// With types given, only streams of those types are listed. A root that
// does not exist has no streams.
func (r Root) Streams(types ...string) ([]record.StreamID, error) {
	return r.streams(true, types)
}

// StreamsUnchecked lists streams as Streams does, without checking that the
// log of each registered stream still exists: one stat per stream less, for
// readers that open every log anyway and take a missing one as empty
// (fold-watch and fold-project over a root of 100,000 streams).
func (r Root) StreamsUnchecked(types ...string) ([]record.StreamID, error) {
	return r.streams(false, types)
}

func (r Root) streams(check bool, types []string) ([]record.StreamID, error) {
	want := func(t string) bool { return len(types) == 0 || slices.Contains(types, t) }
	seen := make(map[record.StreamID]bool)
	var out []record.StreamID
	fsys := r.fs()
	f, err := fsys.OpenFile(r.RegistryPath(), os.O_RDONLY, 0)
	switch {
	case err == nil:
		err = record.ScanLines(io.NewSectionReader(vfs.ReaderAt(f), 0, math.MaxInt64), maxRegistryLine, func(_ int64, line []byte, err error) bool {
			var e record.RegistryEntry
			// A torn or foreign line is not fatal: the directory listing
			// below still finds the stream. Nor is one too long to be an
			// entry, or one that is not text (its names would be read
			// with U+FFFD in place of what is on disk).
			if err != nil || record.CheckText(line) != nil || record.Unmarshal(line, &e) != nil {
				return true
			}
			id := record.StreamID{Type: e.Type, ID: e.ID}
			if seen[id] || !want(id.Type) || CheckStream(id) != nil {
				return true
			}
			seen[id] = true
			if !check || r.HasStream(id) {
				out = append(out, id)
			}
			return true
		})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read stream registry: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read stream registry: %w", err)
	}
	typeDirs, err := fsys.ReadDir(filepath.Join(r.Dir, "streams"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	slices.SortFunc(typeDirs, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, td := range typeDirs {
		if !td.IsDir() || !want(td.Name()) {
			continue
		}
		ids, err := unregistered(fsys, filepath.Join(r.Dir, "streams", td.Name()), td.Name(), seen)
		if err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
		for _, id := range ids {
			if r.HasStream(id) {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// unregistered lists the directories of a type's directory that seen does
// not hold, sorted by name. The listing is read unsorted, as a type may
// hold 100,000 streams that the registry already gave: only the few it
// missed are worth sorting.
func unregistered(fsys vfs.FS, dir, typ string, seen map[record.StreamID]bool) ([]record.StreamID, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []record.StreamID
	for _, d := range entries {
		id := record.StreamID{Type: typ, ID: d.Name()}
		if d.IsDir() && !seen[id] {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b record.StreamID) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
