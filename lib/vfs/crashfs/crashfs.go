// Package crashfs is a file system in memory that knows what a power cut
// may keep: every change a file or a directory received since it was last
// synced can be lost. It implements vfs.FS, so the event logs, snapshots,
// the stream registry and checkpoints run on it unchanged, and a test can
// take what a power cut would leave after any operation (PowerCut,
// RecordCuts) or fail a chosen one with EIO or ENOSPC (Fail), the way
// Pebble's strict MemFS and errorfs and SQLite's crash-test VFS do.
//
// The model is strict. A file's data is durable once the file is synced
// (vfs.File.Sync, vfs.FS.SyncAll); a name created, renamed or removed in a
// directory is durable once that directory is synced, and syncing a file
// does not sync its name. Of the changes not yet durable, a power cut keeps
// for each file and each directory some prefix of them in the order they
// were made (the last write of a file possibly torn part way): the order a
// journaling file system in its default mode keeps. A failed sync of a
// file drops its unsynced changes from what can become durable while reads
// still see them, as Linux does after a writeback error (it marks the
// pages clean), so code that retries a failed sync and trusts it loses
// data here as it would there. A failed sync of a directory drops nothing:
// names are journaled metadata, and a journal that cannot commit stops the
// file system rather than forgetting them.
package crashfs

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/fold-es/fold/lib/vfs"
)

// Kind names an operation, as Fail sees it.
type Kind string

// The operations; Open and Read change nothing.
const (
	Open     Kind = "open"
	Read     Kind = "read"
	Create   Kind = "create"
	Write    Kind = "write"
	Truncate Kind = "truncate"
	Sync     Kind = "sync"
	SyncDir  Kind = "syncdir"
	Mkdir    Kind = "mkdir"
	Rename   Kind = "rename"
	Exchange Kind = "exchange"
	Remove   Kind = "remove"
)

// Op is an operation about to be made.
type Op struct {
	Kind Kind
	Path string // the file or directory; for Rename and Exchange the first name
}

// Cut is what a power cut right after an operation would leave.
type Cut struct {
	After  Op
	Change int // how many changes had been made
	FS     *FS
}

// FS is the file system. Paths are absolute; "/" exists from the start.
// It is safe for concurrent use.
type FS struct {
	mu         sync.Mutex
	root       *node
	changes    int
	fail       func(Op) error
	trace      func(string)
	noExchange bool
	record     *rand.Rand // with recording on, the source of the cuts' choices
	cuts       []Cut
}

var _ vfs.FS = (*FS)(nil)

// New returns an empty file system.
func New() *FS {
	return &FS{root: newDir()}
}

// NoExchange makes Exchange unsupported, as on macOS and the BSDs, so the
// callers' other path is taken.
func (f *FS) NoExchange() {
	f.mu.Lock()
	f.noExchange = true
	f.mu.Unlock()
}

// Fail sets fn to be asked before every operation; an error it returns is
// the operation's error, and the operation does nothing (a failed Sync
// also drops what it would have made durable). fn must not use f.
func (f *FS) Fail(fn func(Op) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

// Changes is how many changes have been made so far: writes, truncations,
// syncs and changes to names.
func (f *FS) Changes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changes
}

// RecordCuts makes f keep, after every change from now on, what a power
// cut at that moment would leave (PowerCut with rng); TakeCuts hands them
// over.
func (f *FS) RecordCuts(rng *rand.Rand) {
	f.mu.Lock()
	f.record = rng
	f.mu.Unlock()
}

// TakeCuts returns the cuts recorded since the last call.
func (f *FS) TakeCuts() []Cut {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cuts
	f.cuts = nil
	return c
}

// ask lets the fault injector fail op. f.mu is held.
func (f *FS) ask(op Op) error {
	var err error
	if f.fail != nil {
		err = f.fail(op)
	}
	if f.trace != nil {
		f.trace(fmt.Sprintf("after %d changes: %s %s: %v", f.changes, op.Kind, op.Path, err))
	}
	return err
}

// Trace sets fn to be given a line for every operation, as it is made:
// for finding what led to a failure. fn must not use f.
func (f *FS) Trace(fn func(string)) {
	f.mu.Lock()
	f.trace = fn
	f.mu.Unlock()
}

// change makes a change to names unless err (a failed lookup) is set or
// the fault injector fails it: apply, then count it. f.mu is held.
func (f *FS) change(op Op, err error, apply func()) error {
	if err == nil {
		err = f.ask(op)
	}
	if err != nil {
		return err
	}
	apply()
	f.changed(op)
	return nil
}

// changed counts a change made, and records the cut after it. f.mu is
// held.
func (f *FS) changed(op Op) {
	f.changes++
	if f.record != nil {
		f.cuts = append(f.cuts, Cut{After: op, Change: f.changes, FS: f.powerCutLocked(f.record)})
	}
}

// node is a file or a directory.
type node struct {
	dir bool

	data    []byte   // a file's bytes as reads see them
	durable []byte   // what a power cut keeps for sure
	writes  []change // since the last sync, in order

	entries map[string]*node // a directory's names as lookups see them
	durEnts map[string]*node // what a power cut keeps for sure
	dirOps  []dirOp          // since the last sync, in order

	lockedBy *file
}

func newDir() *node {
	return &node{dir: true, entries: map[string]*node{}, durEnts: map[string]*node{}}
}

// change is a write of data at off, or (size >= 0) a truncation.
type change struct {
	off  int64
	data []byte
	size int64
}

func (c change) applyTo(b []byte) []byte {
	if c.size >= 0 {
		return resize(b, c.size)
	}
	end := c.off + int64(len(c.data))
	if end > int64(len(b)) {
		b = resize(b, end)
	}
	copy(b[c.off:], c.data)
	return b
}

func resize(b []byte, n int64) []byte {
	if n <= int64(len(b)) {
		return b[:n]
	}
	return append(b, make([]byte, n-int64(len(b)))...)
}

// dirOp is one operation's changes to a directory's names, made together
// (a rename within a directory replaces one name and drops another at
// once). A nil node removes the name.
type dirOp map[string]*node

func (d dirOp) applyTo(ents map[string]*node) {
	for name, n := range d {
		if n == nil {
			delete(ents, name)
		} else {
			ents[name] = n
		}
	}
}

func pathError(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// split cleans an absolute path into its names.
func split(name string) []string {
	p := path.Clean("/" + filepath.ToSlash(name))
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookup finds a path's node. f.mu is held.
func (f *FS) lookup(name string) (*node, error) {
	n := f.root
	for _, part := range split(name) {
		if !n.dir {
			return nil, syscall.ENOTDIR
		}
		next, ok := n.entries[part]
		if !ok {
			return nil, syscall.ENOENT
		}
		n = next
	}
	return n, nil
}

// parent finds the directory a path's last name is in. f.mu is held.
func (f *FS) parent(name string) (dir *node, base string, err error) {
	parts := split(name)
	if len(parts) == 0 {
		return nil, "", syscall.EEXIST // the root
	}
	dir, err = f.lookup("/" + strings.Join(parts[:len(parts)-1], "/"))
	if err != nil {
		return nil, "", err
	}
	if !dir.dir {
		return nil, "", syscall.ENOTDIR
	}
	return dir, parts[len(parts)-1], nil
}

// OpenFile opens or creates a file.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(name)
	switch {
	case err == nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathError("open", name, syscall.EEXIST)
	case err == nil && n.dir && flag&(os.O_WRONLY|os.O_RDWR) != 0:
		return nil, pathError("open", name, syscall.EISDIR)
	case errors.Is(err, syscall.ENOENT) && flag&os.O_CREATE != 0:
		dir, base, perr := f.parent(name)
		if perr != nil {
			return nil, pathError("open", name, perr)
		}
		op := Op{Kind: Create, Path: name}
		if err := f.ask(op); err != nil {
			return nil, pathError("open", name, err)
		}
		n = &node{}
		f.setName(dir, dirOp{base: n})
		f.changed(op)
	case err != nil:
		return nil, pathError("open", name, err)
	default:
		if err := f.ask(Op{Kind: Open, Path: name}); err != nil {
			return nil, pathError("open", name, err)
		}
	}
	h := &file{fs: f, n: n, name: name, flag: flag}
	if flag&os.O_TRUNC != 0 && flag&(os.O_WRONLY|os.O_RDWR) != 0 && len(n.data) > 0 {
		if err := h.truncateLocked(0); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// SyncAll syncs each file and directory given, all of them even when one
// fails (as one flush of a whole file system would), and returns the
// first error.
func (f *FS) SyncAll(files []vfs.File, dirs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first error
	for _, vf := range files {
		h, ok := vf.(*file)
		var err error
		if !ok || h.fs != f {
			err = pathError("sync", vf.Name(), errors.New("not a file of this file system"))
		} else {
			err = h.syncLocked()
		}
		if first == nil {
			first = err
		}
	}
	for _, d := range dirs {
		if err := f.syncDirLocked(d); first == nil {
			first = err
		}
	}
	return first
}
