package store

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// Register appends a stream to meta/streams.jsonl. Lines are small and
// written with O_APPEND in one write, so concurrent writers do not
// interleave. With durable set, the registry file is fsynced.
func (r Root) Register(id record.StreamID, durable bool) error {
	line, err := record.Marshal(record.RegistryEntry{ID: id.ID, Ts: time.Now().Unix(), Type: id.Type})
	if err != nil {
		return fmt.Errorf("register stream: %w", err)
	}
	path := r.RegistryPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("register stream: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("register stream: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("register stream: %w", err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("register stream: %w", err)
		}
	}
	return nil
}

// Streams lists the root's streams in discovery order: the registry's
// creation order first, then any stream directory the registry misses (a
// crash between the two writes, or another tool), sorted by type and id.
// With types given, only streams of those types are listed. A root that
// does not exist has no streams.
func (r Root) Streams(types ...string) ([]record.StreamID, error) {
	want := func(t string) bool { return len(types) == 0 || slices.Contains(types, t) }
	seen := make(map[record.StreamID]bool)
	var out []record.StreamID
	f, err := os.Open(r.RegistryPath())
	switch {
	case err == nil:
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e record.RegistryEntry
			// A torn or foreign line is not fatal: the directory listing
			// below still finds the stream.
			if record.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			id := record.StreamID{Type: e.Type, ID: e.ID}
			if seen[id] || !want(id.Type) || CheckStream(id) != nil {
				continue
			}
			seen[id] = true
			if r.HasStream(id) {
				out = append(out, id)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read stream registry: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read stream registry: %w", err)
	}
	typeDirs, err := os.ReadDir(filepath.Join(r.Dir, "streams"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	for _, td := range typeDirs {
		if !td.IsDir() || !want(td.Name()) {
			continue
		}
		ids, err := os.ReadDir(filepath.Join(r.Dir, "streams", td.Name()))
		if err != nil {
			return nil, fmt.Errorf("list streams: %w", err)
		}
		for _, d := range ids {
			id := record.StreamID{Type: td.Name(), ID: d.Name()}
			if !d.IsDir() || seen[id] || !r.HasStream(id) {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
