// Package vfs is the file layer below the store: the few file operations
// the event logs, snapshots, the stream registry and checkpoints make,
// behind one narrow interface. OS is the real file system, with each
// platform's way of making data durable in build-tagged files (fdatasync
// and syncfs on Linux, F_FULLFSYNC on macOS, fsync on the BSDs); the
// crashfs package implements the same interface in memory and can cut the
// power or fail a chosen call, so the layers above are tested below
// kill -9.
package vfs

import "io/fs"

// FS is a file system: names are paths as the OS takes them.
type FS interface {
	// OpenFile opens a file with os.OpenFile's flags (O_RDONLY, O_WRONLY,
	// O_RDWR, O_APPEND, O_CREATE, O_EXCL, O_TRUNC) and permission.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Stat describes a file or directory, following symbolic links.
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists a directory, in no particular order: a type's
	// directory may hold 100,000 streams, and most callers do not need
	// them sorted.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Mkdir makes one directory; its parent must exist.
	Mkdir(name string, perm fs.FileMode) error
	// Rename replaces to with from, atomically.
	Rename(from, to string) error
	// Exchange swaps two existing names atomically (renameat2
	// RENAME_EXCHANGE); an error where the platform or the file system
	// cannot, and the caller renames instead.
	Exchange(a, b string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// SyncDir makes a directory's entries durable: the names created,
	// renamed or removed in it survive a power cut.
	SyncDir(name string) error
	// SyncAll makes the data of every file given and the entries of every
	// directory given durable, as SyncFile and SyncDir on each would, at
	// the cost the platform can do it for together (group commit). Files
	// must come from this FS.
	SyncAll(files []File, dirs []string) error
}

// File is an open file. A File is not safe for concurrent use, except
// that Pread, Size and Sync may run while no one writes.
type File interface {
	// Name is the path the file was opened by.
	Name() string
	// Pread reads up to len(p) bytes at off in one call; fewer (with a nil
	// error) mean the file ends there.
	Pread(p []byte, off int64) (int, error)
	// Write writes p in one call: at the end with O_APPEND, else at the
	// file's offset. A short count comes with an error.
	Write(p []byte) (int, error)
	// Size is the file's length.
	Size() (int64, error)
	// Truncate cuts (or extends) the file to size.
	Truncate(size int64) error
	// Sync makes the file's data durable: what was written through any
	// descriptor of it, and what a reader needs to find it (its size).
	// After a failed Sync the data written before it may be lost even if
	// a later Sync succeeds: a caller never retries one and trusts it.
	Sync() error
	// TryLock takes the file's exclusive advisory lock (flock) without
	// waiting: ok is false while another open file holds it.
	TryLock() (ok bool, err error)
	// Unlock releases the lock.
	Unlock() error
	// Close closes the file, releasing its lock; closing it again does
	// nothing.
	Close() error
}

// FSSyncer is an FS that can make every file of a whole file system
// durable in one call (syncfs(2) on Linux): where most files are durable
// already, far cheaper than a flush per file, each of which may cost the
// disk a cache flush. A follower reading 100,000 logs flushes that way.
type FSSyncer interface {
	// SyncFS makes everything written so far to the file systems that
	// hold dirs durable, one call per file system. It fails with an error
	// wrapping errors.ErrUnsupported where it cannot (a kernel whose
	// syncfs does not report write errors, a sandbox that forbids it):
	// nothing was flushed then, and the caller flushes file by file.
	SyncFS(dirs []string) error
}
