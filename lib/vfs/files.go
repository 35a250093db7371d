package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// ReadAt reads len(p) bytes of f at off, as io.ReaderAt: fewer only with
// an error, io.EOF when the file ends first.
func ReadAt(f File, p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := f.Pread(p[n:], off+int64(n))
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

// ReaderAt is f as an io.ReaderAt.
func ReaderAt(f File) io.ReaderAt { return readerAt{f} }

type readerAt struct{ f File }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return ReadAt(r.f, p, off) }

// ReadFile reads a whole file; a missing one is an error that satisfies
// errors.Is(err, fs.ErrNotExist).
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size+512) // a little more, in case it grows
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := f.Pread(buf[len(buf):cap(buf)], int64(len(buf)))
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+k]
	}
}

// MkdirAll makes dir and the parents it lacks, as os.MkdirAll, and returns
// the directories it made, outermost first: their names are not durable
// until their parents are synced.
func MkdirAll(fsys FS, dir string, perm fs.FileMode) (made []string, err error) {
	st, err := fsys.Stat(dir)
	if err == nil {
		if st.IsDir() {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "mkdir", Path: dir, Err: errNotDir}
	}
	if parent := filepath.Dir(dir); parent != dir {
		if made, err = MkdirAll(fsys, parent, perm); err != nil {
			return made, err
		}
	}
	if err := fsys.Mkdir(dir, perm); err != nil {
		// Made meanwhile by someone else: as good.
		if st, serr := fsys.Stat(dir); serr == nil && st.IsDir() {
			return made, nil
		}
		return made, err
	}
	return append(made, dir), nil
}

var errNotDir = errors.New("not a directory")

// RemoveDirs removes the directories MkdirAll made, innermost first, as
// far as they are still empty: the undo of a creation that failed half
// way. A directory someone else has put something in meanwhile stays.
func RemoveDirs(fsys FS, made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		if fsys.Remove(made[i]) != nil {
			return
		}
	}
}

// CreateTemp makes a new file in dir named prefix followed by a random
// number, for writing.
func CreateTemp(fsys FS, dir, prefix string) (File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 100 {
			return f, err
		}
	}
}

// WriteFileAtomic replaces path with data so that a crash leaves either
// the old file or the new one, never a mix: temp file in the same
// directory, write, sync, close, rename, sync the directory (and the
// parents of directories it had to make). With durable false the syncs
// are skipped (the file is a cache, or --sync none). When it fails it
// removes the temp file and the directories it made, which nothing would
// ever sync: a root made here and left behind could later hold a stream
// whose creator takes the root for durable.
func WriteFileAtomic(fsys FS, path string, data []byte, durable bool) (err error) {
	dir := filepath.Dir(path)
	made, err := MkdirAll(fsys, dir, 0o755)
	defer func() {
		if err != nil {
			RemoveDirs(fsys, made)
		}
	}()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := CreateTemp(fsys, dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = fsys.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = fsys.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	if err := fsys.SyncAll(nil, append(Parents(made), dir)); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// Parents is the parent of each directory in made: where their names are
// written.
func Parents(made []string) []string {
	out := make([]string, len(made))
	for i, d := range made {
		out[i] = filepath.Dir(d)
	}
	return out
}
