// Package store is where streams live. Store (backend.go) is the interface
// the programs read and append events through; Root, the root directory in
// the eventfold-es 0.2.0 layout, is its file backend: where each stream,
// snapshot, checkpoint and the stream registry live, how names become safe
// path segments, how streams are discovered and watched, and how rewritten
// files are replaced atomically. storetest holds the tests any backend
// must pass.
package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// DefaultRoot is used when neither --root nor $FOLD_ROOT is given.
const DefaultRoot = "fold-data"

// ErrNoStream is returned when one named stream does not exist.
var ErrNoStream = errors.New("no such stream")

// ErrBadName marks a type, id or name that is not a single path segment.
var ErrBadName = errors.New("not a single path segment")

// NameError names the field and value that cannot be a path segment.
type NameError struct {
	Field  string // "aggregate_type", "instance_id", "name"
	Value  string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("%s %s is not a single path segment (%s)", e.Field, record.Quote(e.Value), e.Reason)
}

// Unwrap lets callers test errors.Is(err, ErrBadName).
func (e *NameError) Unwrap() error { return ErrBadName }

// CheckName refuses a value that cannot be one directory name on every
// system eventfold-es runs on: empty, ".", "..", containing "/" or NUL,
// longer than 255 bytes, or not UTF-8.
func CheckName(field, v string) error {
	reason := ""
	switch {
	case v == "":
		reason = "empty"
	case v == "." || v == "..":
		reason = "a relative directory"
	case strings.ContainsRune(v, '/'):
		reason = "contains /"
	case strings.ContainsRune(v, 0):
		reason = "contains NUL"
	case len(v) > 255:
		reason = "longer than 255 bytes"
	case !utf8.ValidString(v):
		reason = "not UTF-8"
	default:
		return nil
	}
	return &NameError{Field: field, Value: v, Reason: reason}
}

// CheckStream checks both parts of a stream name.
func CheckStream(id record.StreamID) error {
	if err := CheckName("aggregate_type", id.Type); err != nil {
		return err
	}
	return CheckName("instance_id", id.ID)
}

// ParseStream parses "TYPE/ID" as given to --stream.
func ParseStream(s string) (record.StreamID, error) {
	t, id, ok := strings.Cut(s, "/")
	if !ok {
		return record.StreamID{}, fmt.Errorf("stream %s is not TYPE/ID", record.Quote(s))
	}
	sid := record.StreamID{Type: t, ID: id}
	return sid, CheckStream(sid)
}

// Root is a root directory and the paths inside it, on a file system.
type Root struct {
	Dir string
	FS  vfs.FS // nil: vfs.OS
	// WatchBudget caps the watches (descriptors where a watch holds them)
	// a Watch may take; zero: the platform's (watchbudget_*.go). A root
	// whose streams do not fit is followed through its change journal and
	// a scan instead (see Watch).
	WatchBudget int

	names   *nameSync // shared by copies; nil in a Root not made by Open
	journal *journal  // the change journal's writing end, shared by copies; nil: none written
}

// Open returns the root at dir; nothing is created until a write needs it.
// The directory is cleaned once, so the paths below are built by
// concatenation: readers build one per stream, 100,000 in a catch-up.
func Open(dir string) Root {
	return OpenFS(dir, vfs.OS)
}

// OpenFS returns the root at dir on fsys: a test's file system that can
// cut the power or fail a call (vfs/crashfs).
func OpenFS(dir string, fsys vfs.FS) Root {
	dir = filepath.Clean(dir)
	return Root{Dir: dir, FS: fsys, names: &nameSync{}, journal: newJournal(fsys, filepath.Join(dir, "meta"))}
}

// fs is the root's file system.
func (r Root) fs() vfs.FS {
	if r.FS == nil {
		return vfs.OS
	}
	return r.FS
}

// Exists reports whether the root directory exists.
func (r Root) Exists() bool {
	st, err := r.fs().Stat(r.Dir)
	return err == nil && st.IsDir()
}

// StreamDir is streams/<type>/<id>.
func (r Root) StreamDir(id record.StreamID) string {
	return filepath.Join(r.Dir, "streams", id.Type, id.ID)
}

// LogPath is streams/<type>/<id>/app.jsonl. The names in it are checked
// single segments, so it needs no cleaning.
func (r Root) LogPath(id record.StreamID) string {
	const sep = string(filepath.Separator)
	return r.Dir + sep + "streams" + sep + id.Type + sep + id.ID + sep + "app.jsonl"
}

// SnapshotPath is streams/<type>/<id>/views/state.snapshot.json.
func (r Root) SnapshotPath(id record.StreamID) string {
	return filepath.Join(r.StreamDir(id), "views", "state.snapshot.json")
}

// RegistryPath is meta/streams.jsonl.
func (r Root) RegistryPath() string {
	return filepath.Join(r.Dir, "meta", "streams.jsonl")
}

// ProjectionDir is projections/<name>.
func (r Root) ProjectionDir(name string) string {
	return filepath.Join(r.Dir, "projections", name)
}

// ProcessManagerDir is process_managers/<name>.
func (r Root) ProcessManagerDir(name string) string {
	return filepath.Join(r.Dir, "process_managers", name)
}

// ConsumerDir is consumers/<name>, fold-watch's durable consumers.
func (r Root) ConsumerDir(name string) string {
	return filepath.Join(r.Dir, "consumers", name)
}

// HasStream reports whether a stream's log exists.
func (r Root) HasStream(id record.StreamID) bool {
	_, err := r.fs().Stat(r.LogPath(id))
	return err == nil
}
