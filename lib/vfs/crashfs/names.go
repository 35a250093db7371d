package crashfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// setName changes names in a directory, as one operation. f.mu is held.
func (f *FS) setName(dir *node, op dirOp) {
	op.applyTo(dir.entries)
	dir.dirOps = append(dir.dirOps, op)
}

// setNames points name a in directory ad at an and name b in bd at bn (a
// nil node removes the name): one change when both are in one directory,
// so a power cut keeps both or neither, as a rename within a directory.
// f.mu is held.
func (f *FS) setNames(ad *node, a string, an *node, bd *node, b string, bn *node) {
	if ad == bd {
		op := dirOp{a: an}
		op[b] = bn
		f.setName(ad, op)
		return
	}
	f.setName(ad, dirOp{a: an})
	f.setName(bd, dirOp{b: bn})
}

// Stat describes a file or directory.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(name)
	if err != nil {
		return nil, pathError("stat", name, err)
	}
	return info{name: path.Base("/" + filepath.ToSlash(name)), n: n, size: int64(len(n.data))}, nil
}

// ReadDir lists a directory, sorted by name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(name)
	if err == nil && !n.dir {
		err = syscall.ENOTDIR
	}
	if err == nil {
		err = f.ask(Op{Kind: Read, Path: name})
	}
	if err != nil {
		return nil, pathError("readdirent", name, err)
	}
	out := make([]fs.DirEntry, 0, len(n.entries))
	for base, c := range n.entries {
		out = append(out, fs.FileInfoToDirEntry(info{name: base, n: c, size: int64(len(c.data))}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Mkdir makes a directory.
func (f *FS) Mkdir(name string, perm fs.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, base, err := f.parent(name)
	if err == nil && dir.entries[base] != nil {
		err = syscall.EEXIST
	}
	if err := f.change(Op{Kind: Mkdir, Path: name}, err, func() { f.setName(dir, dirOp{base: newDir()}) }); err != nil {
		return pathError("mkdir", name, err)
	}
	return nil
}

// Rename replaces to with from.
func (f *FS) Rename(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd, fbase, err := f.parent(from)
	var n *node
	if err == nil {
		if n = fd.entries[fbase]; n == nil {
			err = syscall.ENOENT
		}
	}
	var td *node
	var tbase string
	if err == nil {
		td, tbase, err = f.parent(to)
	}
	if err == nil {
		if old := td.entries[tbase]; old != nil && old.dir {
			err = syscall.EISDIR
		}
	}
	if err := f.change(Op{Kind: Rename, Path: from}, err, func() { f.setNames(fd, fbase, nil, td, tbase, n) }); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// Exchange swaps two names, unless NoExchange was called.
func (f *FS) Exchange(a, b string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.noExchange {
		err = errors.ErrUnsupported
	}
	var ad, bd, an, bn *node
	var abase, bbase string
	if err == nil {
		ad, abase, err = f.parent(a)
	}
	if err == nil {
		bd, bbase, err = f.parent(b)
	}
	if err == nil {
		an, bn = ad.entries[abase], bd.entries[bbase]
		if an == nil || bn == nil {
			err = syscall.ENOENT
		}
	}
	if err := f.change(Op{Kind: Exchange, Path: a}, err, func() { f.setNames(ad, abase, bn, bd, bbase, an) }); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// Remove removes a file or an empty directory.
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, base, err := f.parent(name)
	var n *node
	if err == nil {
		if n = dir.entries[base]; n == nil {
			err = syscall.ENOENT
		} else if n.dir && len(n.entries) > 0 {
			err = syscall.ENOTEMPTY
		}
	}
	if err := f.change(Op{Kind: Remove, Path: name}, err, func() { f.setName(dir, dirOp{base: nil}) }); err != nil {
		return pathError("remove", name, err)
	}
	return nil
}

// SyncDir makes a directory's names durable.
func (f *FS) SyncDir(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncDirLocked(name)
}

func (f *FS) syncDirLocked(name string) error {
	n, err := f.lookup(name)
	if err == nil && !n.dir {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return pathError("sync directory", name, err)
	}
	op := Op{Kind: SyncDir, Path: name}
	if err := f.ask(op); err != nil {
		return pathError("sync directory", name, err) // nothing written, nothing dropped
	}
	for _, d := range n.dirOps {
		d.applyTo(n.durEnts)
	}
	n.dirOps = nil
	f.changed(op)
	return nil
}

// info is a node's fs.FileInfo.
type info struct {
	name string
	n    *node
	size int64
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.n.dir }
func (i info) Sys() any           { return nil }
