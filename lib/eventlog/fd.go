package eventlog

import (
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/sys/unix"
)

// fdFile is a log's descriptor with the reads a File and a Reader share,
// made with bare system calls: a catch-up over 100,000 streams with
// nothing new spends its time opening, checking and closing logs, and
// os.File adds calls per file (poller registration, flag checks) that this
// path does without.
type fdFile struct {
	fd   int
	path string
}

func openFD(path string, flags int, perm uint32) (fdFile, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(path, flags|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return fdFile{fd: -1}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return fdFile{fd: fd, path: path}, nil
}

// ignoringEINTR calls fn again while it is interrupted by a signal.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

// ReadAt implements io.ReaderAt with pread.
func (l fdFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := l.readOnce(p[n:], off+int64(n))
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}

// readOnce reads at off into p with one pread: on a regular file a short
// read means the file ends there, so checking a position at the end of its
// log (the common case) costs no second call to see EOF.
func (l fdFile) readOnce(p []byte, off int64) (int, error) {
	var k int
	err := ignoringEINTR(func() (err error) {
		k, err = unix.Pread(l.fd, p, off)
		return err
	})
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: l.path, Err: err}
	}
	return k, nil
}

func (l fdFile) size() (int64, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(l.fd, &st) }); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: l.path, Err: err}
	}
	return st.Size, nil
}

// datasync is fdatasync; it works on a descriptor opened for reading,
// whoever wrote the data.
func (l fdFile) datasync() error {
	if err := ignoringEINTR(func() error { return unix.Fdatasync(l.fd) }); err != nil {
		return fmt.Errorf("sync %s: %w", l.path, err)
	}
	return nil
}

func (l fdFile) close() error {
	if l.fd < 0 {
		return nil
	}
	return unix.Close(l.fd)
}
