package store

import (
	"io/fs"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// streamDirs appends to out the streams of typ that have a directory. On
// the OS's file system it reads the raw entries (getdents64) and keeps
// only the names: a type may hold 100,000 streams, and os.ReadDir makes
// an object for each.
func (r Root) streamDirs(out []record.StreamID, typ string) ([]record.StreamID, error) {
	dir := filepath.Join(r.Dir, "streams", typ)
	if r.fs() != vfs.OS {
		return streamDirsOf(r.fs(), out, dir, typ)
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return out, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 256<<10)
	for {
		var n int
		err := ignoringEINTR(func() (err error) {
			n, err = unix.Getdents(fd, buf)
			return err
		})
		if err != nil {
			return out, &fs.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		out = appendDirents(out, buf[:n], typ)
	}
}

// appendDirents appends the stream entries of a getdents64 buffer:
// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }.
// The names are substrings of one copy of the buffer: one allocation for
// thousands of entries, fewer objects for the collector to trace.
func appendDirents(out []record.StreamID, buf []byte, typ string) []record.StreamID {
	const nameAt = int(unsafe.Offsetof(unix.Dirent{}.Name))
	text := string(buf)
	at := 0 // of buf in text
	for len(buf) >= nameAt {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[unsafe.Offsetof(unix.Dirent{}.Reclen)])))
		if reclen < nameAt || reclen > len(buf) {
			return out
		}
		rec := buf[:reclen]
		recAt := at
		buf, at = buf[reclen:], at+reclen
		name := rec[nameAt:]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if len(name) == 0 || string(name) == "." || string(name) == ".." {
			continue
		}
		var t fs.FileMode
		switch rec[unsafe.Offsetof(unix.Dirent{}.Type)] {
		case unix.DT_DIR:
			t = fs.ModeDir
		case unix.DT_LNK:
			t = fs.ModeSymlink
		case unix.DT_UNKNOWN:
			t = fs.ModeIrregular
		case unix.DT_REG:
			continue
		default:
			t = fs.ModeNamedPipe
		}
		if streamEntry(t) {
			out = append(out, record.StreamID{Type: typ, ID: text[recAt+nameAt : recAt+nameAt+len(name)]})
		}
	}
	return out
}
