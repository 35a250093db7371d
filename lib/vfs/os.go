//go:build unix

package vfs

import (
	"io"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// OS is the real file system. Files are bare descriptors, read and written
// with system calls: a catch-up over 100,000 streams with nothing new
// spends its time opening, checking and closing logs, and os.File adds
// calls per file (poller registration, flag checks) that this path does
// without. What differs between platforms (how data is made durable, how
// a group is flushed, whether names can be exchanged) is in the
// build-tagged files beside this one.
var OS FS = osFS{}

type osFS struct{}

// osFile is an open descriptor and the name it was opened by.
type osFile struct {
	fd   int
	name string
}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	// A file opened only to read it does not have its access time
	// written back: a catch-up over 20,000 logs spent a tenth of its time
	// journalling atime updates. The kernel allows that only to the
	// file's owner: for anyone else's file, open it as usual.
	extra := 0
	if flag == os.O_RDONLY {
		extra = noAtime
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(name, flag|extra|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == unix.EPERM && extra != 0 {
			extra = 0
			fd, err = unix.Open(name, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
		}
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &osFile{fd: fd, name: name}, nil
}

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

func (osFS) Exchange(a, b string) error {
	if err := exchange(a, b); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) SyncDir(name string) error {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err == nil {
		err = ignoringEINTR(func() error { return fullSync(fd) })
		unix.Close(fd)
	}
	if err != nil {
		return &fs.PathError{Op: "sync directory", Path: name, Err: err}
	}
	return nil
}

func (o osFS) SyncAll(files []File, dirs []string) error { return o.syncGroup(files, dirs) }

// syncEach flushes each file and directory, up to parallel at a time:
// where a group cannot be flushed with one call, flushes that overlap let
// the file system and the drive serve them together.
func (o osFS) syncEach(files []File, dirs []string, parallel int) error {
	n := len(files) + len(dirs)
	one := func(i int) error {
		if i < len(files) {
			return files[i].Sync()
		}
		return o.SyncDir(dirs[i-len(files)])
	}
	if n <= 1 || parallel <= 1 {
		for i := range n {
			if err := one(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range next {
				errs[i] = one(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ignoringEINTR calls fn again while it is interrupted by a signal.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

func (f *osFile) Name() string { return f.name }

func (f *osFile) Pread(p []byte, off int64) (int, error) {
	var k int
	err := ignoringEINTR(func() (err error) {
		k, err = unix.Pread(f.fd, p, off)
		return err
	})
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	return k, nil
}

func (f *osFile) Write(p []byte) (int, error) {
	var k int
	err := ignoringEINTR(func() (err error) {
		k, err = unix.Write(f.fd, p)
		return err
	})
	if err != nil {
		return max(k, 0), &fs.PathError{Op: "write", Path: f.name, Err: err}
	}
	if k < len(p) {
		return k, &fs.PathError{Op: "write", Path: f.name, Err: io.ErrShortWrite}
	}
	return k, nil
}

func (f *osFile) Size() (int64, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(f.fd, &st) }); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return st.Size, nil
}

func (f *osFile) Truncate(size int64) error {
	if err := ignoringEINTR(func() error { return unix.Ftruncate(f.fd, size) }); err != nil {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: err}
	}
	return nil
}

func (f *osFile) Sync() error {
	if err := ignoringEINTR(func() error { return dataSync(f.fd) }); err != nil {
		return &fs.PathError{Op: "sync", Path: f.name, Err: err}
	}
	return nil
}

func (f *osFile) TryLock() (bool, error) {
	if f.fd < 0 {
		return false, &fs.PathError{Op: "flock", Path: f.name, Err: fs.ErrClosed}
	}
	err := unix.Flock(f.fd, unix.LOCK_EX|unix.LOCK_NB)
	switch err {
	case nil:
		return true, nil
	case unix.EWOULDBLOCK, unix.EINTR:
		return false, nil
	}
	return false, &fs.PathError{Op: "flock", Path: f.name, Err: err}
}

func (f *osFile) Unlock() error {
	if f.fd < 0 {
		return nil // closed, which released the lock
	}
	if err := unix.Flock(f.fd, unix.LOCK_UN); err != nil {
		return &fs.PathError{Op: "flock", Path: f.name, Err: err}
	}
	return nil
}

// Close closes the descriptor once: its number may belong to another file
// by the time a second Close came.
func (f *osFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	fd := f.fd
	f.fd = -1
	if err := unix.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}
