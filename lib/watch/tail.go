package watch

import (
	"bytes"
	"fmt"
	"io"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// tail is what a read keeps per stream: the cursor, where the line before it
// starts (-1 until checked) and how many lines precede it (counted only
// when something past the cursor has to be read, since a checkpoint's
// cursor has no version and counting reads the whole prefix).
type tail struct {
	offset    int64
	hash      string
	lastStart int64
	version   uint64
	counted   bool
}

func newTail(c record.Cursor) tail {
	if c.Offset <= 0 {
		return tail{lastStart: -1, counted: true}
	}
	return tail{offset: c.Offset, hash: c.Hash, lastStart: -1}
}

func (t *tail) cursor() record.Cursor { return record.Cursor{Offset: t.offset, Hash: t.hash} }

func (t *tail) scanned() eventlog.Tail {
	return eventlog.Tail{Offset: t.offset, Hash: t.hash, LastStart: max(t.lastStart, 0), Version: t.version}
}

// moveTo takes the position a scan from t reached.
func (t *tail) moveTo(e eventlog.Tail) {
	if e.Offset == t.offset {
		return // no complete line: keep what is known about the line before
	}
	t.offset, t.hash, t.lastStart, t.version, t.counted = e.Offset, e.Hash, e.LastStart, e.Version, true
}

// minProbe is how much is read back from a cursor at first to find the
// line before it: most event lines are shorter.
const minProbe = 1024

// check is what reading around a tail's cursor found.
type check int

const (
	checkSame    check = iota // the cursor's line is there, nothing after it
	checkMore                 // the cursor's line is there, and more after it
	checkShort                // the log ends before the cursor
	checkChanged              // no line ends at the cursor, or not the one it names
)

// check reads the line that ends at t.offset, and one byte more, through
// buf (grown as needed and returned): one pread tells whether the cursor
// still matches the log and whether the log grew past it, where fstat and
// a read would take two system calls. It records where the line starts,
// so the next check is one exact read. t.offset must not be 0.
func (t *tail) check(f logFile, buf []byte) (check, []byte, error) {
	if t.lastStart >= 0 {
		n := t.offset - t.lastStart
		if n <= 0 {
			return checkChanged, buf, nil
		}
		buf = grow(buf, n+1)
		k, err := f.readEnd(buf[:n+1], t.lastStart)
		if err != nil {
			return 0, buf, err
		}
		if k < int(n) {
			return checkShort, buf, nil
		}
		line := buf[:n]
		if line[n-1] != '\n' || bytes.IndexByte(line[:n-1], '\n') >= 0 || record.Hash(line[:n-1]) != t.hash {
			return checkChanged, buf, nil
		}
		return moreIf(k > int(n)), buf, nil
	}
	for probe := int64(minProbe); ; probe *= 4 {
		from := max(t.offset-probe, 0)
		n := t.offset - from
		buf = grow(buf, n+1)
		k, err := f.readEnd(buf[:n+1], from)
		if err != nil {
			return 0, buf, err
		}
		if k < int(n) {
			return checkShort, buf, nil
		}
		chunk := buf[:n]
		if chunk[n-1] != '\n' {
			return checkChanged, buf, nil
		}
		i := bytes.LastIndexByte(chunk[:n-1], '\n')
		if i < 0 && from > 0 {
			continue
		}
		if record.Hash(chunk[i+1:n-1]) != t.hash {
			return checkChanged, buf, nil
		}
		t.lastStart = from + int64(i+1)
		return moreIf(k > int(n)), buf, nil
	}
}

func moreIf(more bool) check {
	if more {
		return checkMore
	}
	return checkSame
}

// countChunk is the read size for counting lines.
const countChunk = 256 << 10

// count sets t.version to the number of lines before t.offset.
func (t *tail) count(f logFile, buf []byte) ([]byte, error) {
	if t.counted {
		return buf, nil
	}
	buf = grow(buf, countChunk)
	var n uint64
	for pos := int64(0); pos < t.offset; {
		k := min(int64(countChunk), t.offset-pos)
		if _, err := f.ReadAt(buf[:k], pos); err != nil {
			return buf, readError(f, err)
		}
		n += uint64(bytes.Count(buf[:k], []byte{'\n'}))
		pos += k
	}
	t.version, t.counted = n, true
	return buf, nil
}

func grow(buf []byte, n int64) []byte {
	if int64(cap(buf)) < n {
		return make([]byte, n)
	}
	return buf[:n]
}

func readError(f logFile, err error) error {
	if err == io.EOF {
		return fmt.Errorf("read %s: %w", f.path, io.ErrUnexpectedEOF) // the file shrank while being counted
	}
	return err
}
