package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// LoadSnapshot reads a stream's snapshot; it returns nil, nil when there is
// none. A snapshot that does not parse, or that no log can match
// (record.ParseSnapshot), is reported so the caller can ignore it and
// rebuild: a snapshot is only ever a cache of the log.
func (r Root) LoadSnapshot(id record.StreamID) (*record.Snapshot, error) {
	data, err := vfs.ReadFile(r.fs(), r.SnapshotPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	s, err := record.ParseSnapshot(data)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", r.SnapshotPath(id), err)
	}
	return &s, nil
}

// SaveSnapshot replaces a stream's snapshot atomically. It is pretty-printed
// like eventfold-es's, with the version added (eventfold-es ignores it).
func (r Root) SaveSnapshot(id record.StreamID, s record.Snapshot, durable bool) error {
	data, err := record.MarshalIndent(s)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	path := r.SnapshotPath(id)
	if durable {
		return vfs.WriteFileAtomic(r.fs(), path, data, true)
	}
	return swapIn(r.fs(), path, data)
}

// swapSuffix names the file a snapshot is written into before it is
// swapped in; it then holds the snapshot before, and is written over next
// time.
const swapSuffix = ".swap"

// swapIn replaces path with data atomically, without a sync, by writing a
// side file and exchanging the two names (vfs.FS.Exchange: renameat2
// RENAME_EXCHANGE on Linux). A writer that snapshots every 100 events
// rewrites thousands of snapshots a minute, and temp file + rename creates
// an inode and deletes one each time: on ext4 finding a free inode among
// recently deleted ones cost more than the rest of the command (perf: 16%
// of fold-exec's CPU in bench (c)). Exchanging keeps two inodes per stream
// for good. Where the platform or file system cannot exchange (macOS, the
// BSDs), or there is no snapshot yet, the side file is renamed over the
// snapshot instead: the same guarantee, a crash leaves the old snapshot or
// the new one. Two processes saving at once leave one's snapshot, the one
// before, or a mix that does not parse: a snapshot is a cache, checked
// against the log it names on every load.
func swapIn(fsys vfs.FS, path string, data []byte) error {
	side := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+swapSuffix)
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	f, err := fsys.OpenFile(side, flags, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := vfs.MkdirAll(fsys, filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		f, err = fsys.OpenFile(side, flags, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// An exchange would also swap a directory in the snapshot's place
	// aside; rename refuses to replace one, as a save always has.
	if st, serr := fsys.Stat(path); serr == nil && st.Mode().IsRegular() && fsys.Exchange(side, path) == nil {
		return nil
	}
	if err := fsys.Rename(side, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// MatchSnapshot checks s against lg, its stream's log: the line that ends
// at its offset has its hash, and the log holds as many lines up to there
// as its version says (eventfold-es's snapshots have none: it is taken
// from the count). It returns the position s covers, its version counted,
// or in mismatch why s cannot be used ("" when it can); err is a failure
// to read the log. The engine ignores a snapshot that does not match and
// replays, and fold-exec check reports it: one test for both.
func MatchSnapshot(lg Log, s record.Snapshot) (t eventlog.Tail, mismatch string, err error) {
	if s.Offset == 0 {
		return eventlog.Tail{}, "", nil // the empty log's: matches any log
	}
	t = eventlog.Tail{Offset: s.Offset, Hash: s.Hash, LastStart: -1}
	if mismatch, err = MatchPosition(lg, &t, "snapshot"); mismatch != "" || err != nil {
		return t, mismatch, err
	}
	if err := lg.Count(&t); err != nil {
		return t, "", err
	}
	if s.Version != nil && *s.Version != t.Version {
		return t, fmt.Sprintf("its version does not match the log (version %d, %d lines)", *s.Version, t.Version), nil
	}
	return t, "", nil
}

// MatchPosition checks that the line of lg ending at t.Offset is the one
// whose hash is t.Hash; mismatch says why not, naming the position as what
// (a "snapshot", a "cursor"). Offset 0, the start, matches every log.
func MatchPosition(lg Log, t *eventlog.Tail, what string) (mismatch string, err error) {
	if t.Offset == 0 {
		return "", nil
	}
	c, err := lg.Check(t)
	switch {
	case err != nil:
		return "", err
	case c == eventlog.Short:
		return fmt.Sprintf("the log ends before the %s's offset", what), nil
	case c == eventlog.Changed:
		return fmt.Sprintf("the line before the %s's offset is not the one its hash names", what), nil
	}
	return "", nil
}
