package watch

import (
	"io"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/record"
)

// logFile is a log opened with bare system calls. A catch-up over many
// streams with nothing new spends its time opening, checking and closing
// logs; os.Open adds several system calls per file (poller registration,
// flag checks) that this path does without. A log with something to read
// is handed to an *os.File for the scan.
type logFile struct {
	fd   int
	path string
}

func openLog(path string) (logFile, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return logFile{fd: -1}, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return logFile{fd: fd, path: path}, nil
	}
}

// ReadAt implements io.ReaderAt with pread.
func (l logFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Pread(l.fd, p[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: l.path, Err: err}
		}
		if k == 0 {
			return n, io.EOF
		}
		n += k
	}
	return n, nil
}

// readEnd reads at off into p with one pread: on a regular file a short
// read means the file ends there, so checking a cursor that is at the end
// of its log (the common case) costs no second call to see EOF.
func (l logFile) readEnd(p []byte, off int64) (int, error) {
	for {
		k, err := unix.Pread(l.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: l.path, Err: err}
		}
		return k, nil
	}
}

func (l logFile) close() {
	if l.fd >= 0 {
		_ = unix.Close(l.fd)
	}
}

// logPaths builds the paths of logs by concatenation: a catch-up opens
// every selected log, and filepath.Join would clean each path again
// although the names in it are checked single segments.
type logPaths struct {
	prefix string // <root>/streams/
}

func newLogPaths(root string) logPaths {
	return logPaths{prefix: filepath.Join(root, "streams") + string(filepath.Separator)}
}

func (p logPaths) of(id record.StreamID) string {
	const sep = string(filepath.Separator)
	return p.prefix + id.Type + sep + id.ID + sep + "app.jsonl"
}
