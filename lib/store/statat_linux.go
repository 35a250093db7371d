package store

import (
	"errors"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// TypeStater returns a stat of typ's logs by id, as StatLog does, for a
// caller about to stat many: on the OS's file system each is an fstatat
// relative to the type's directory, opened once, so the kernel walks two
// names, not the whole path from /. done releases the directory.
func (r Root) TypeStater(typ string) (stat func(id string) (LogStat, error), done func()) {
	bySlowPath := func(id string) (LogStat, error) { return r.StatLog(record.StreamID{Type: typ, ID: id}) }
	if r.fs() != vfs.OS {
		return bySlowPath, func() {}
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(filepath.Join(r.Dir, "streams", typ), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return bySlowPath, func() {}
	}
	stat = func(id string) (LogStat, error) {
		var st unix.Stat_t
		err := ignoringEINTR(func() error { return unix.Fstatat(fd, id+"/app.jsonl", &st, 0) })
		switch {
		case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR):
			return LogStat{}, NoStreamError(record.StreamID{Type: typ, ID: id}, err)
		case err != nil:
			return LogStat{}, err
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			return LogStat{}, errors.New("the log is not a regular file")
		}
		return LogStat{Size: st.Size, Changed: time.Unix(st.Ctim.Unix())}, nil
	}
	return stat, func() { _ = unix.Close(fd) }
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
