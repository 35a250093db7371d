package eventlog

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/fold-es/fold/lib/record"
)

// Check is what comparing a position (a Tail kept from an earlier read, a
// record's or checkpoint's cursor, a snapshot's) with a log found.
type Check int

const (
	Same    Check = iota // the line the position names ends there, and so does the log
	More                 // the line is there, and the log goes on past it
	Short                // the log ends before the position
	Changed              // no line ends at the position, or not the one it names
)

// minProbe is how much is read back from a position at first to find the
// line that ends there: most event lines are shorter.
const minProbe = 1024

// bufPool holds the read buffers of checks and counts: a reader checks
// one position per stream, and 100,000 streams should not mean 100,000
// buffers.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func getBuf(n int64) *[]byte {
	b := bufPool.Get().(*[]byte)
	if int64(cap(*b)) < n {
		*b = make([]byte, n)
	}
	*b = (*b)[:n]
	return b
}

// check compares t with the log through one pread in the usual case: it
// reads the line that ends at t.Offset and one byte more, which tells
// whether the position still holds and whether the log grew past it, where
// fstat and a read would take two calls. A t.LastStart below zero means
// the line's start is not known; it is found by reading back and recorded
// in t, so the next check is one exact read.
func (l logFile) check(t *Tail) (Check, error) {
	if t.Offset <= 0 {
		var b [1]byte
		k, err := l.readOnce(b[:], 0)
		if err != nil {
			return 0, err
		}
		return moreIf(k > 0), nil
	}
	if t.LastStart >= 0 {
		n := t.Offset - t.LastStart
		if n <= 0 {
			return Changed, nil
		}
		bp := getBuf(n + 1)
		defer bufPool.Put(bp)
		buf := *bp
		k, err := l.readOnce(buf, t.LastStart)
		if err != nil {
			return 0, err
		}
		if k < int(n) {
			return Short, nil
		}
		line := buf[:n]
		if line[n-1] != '\n' || bytes.IndexByte(line[:n-1], '\n') >= 0 || record.Hash(line[:n-1]) != t.Hash {
			return Changed, nil
		}
		return moreIf(k > int(n)), nil
	}
	for probe := int64(minProbe); ; probe *= 4 {
		from := max(t.Offset-probe, 0)
		n := t.Offset - from
		bp := getBuf(n + 1)
		buf := *bp
		k, err := l.readOnce(buf, from)
		c, again := Changed, false
		switch {
		case err != nil:
		case k < int(n):
			c = Short
		case buf[n-1] != '\n':
		default:
			i := bytes.LastIndexByte(buf[:n-1], '\n')
			if i < 0 && from > 0 {
				again = true
				break
			}
			if record.Hash(buf[i+1:n-1]) == t.Hash {
				t.LastStart = from + int64(i+1)
				c = moreIf(k > int(n))
			}
		}
		bufPool.Put(bp)
		if err != nil {
			return 0, err
		}
		if !again {
			return c, nil
		}
	}
}

func moreIf(more bool) Check {
	if more {
		return More
	}
	return Same
}

// countChunk is the read size for counting lines.
const countChunk = 256 << 10

// count sets t.Version to the number of lines before t.Offset.
func (l logFile) count(t *Tail) error {
	bp := getBuf(countChunk)
	defer bufPool.Put(bp)
	buf := *bp
	var n uint64
	for pos := int64(0); pos < t.Offset; {
		k := min(int64(countChunk), t.Offset-pos)
		if _, err := l.ReadAt(buf[:k], pos); err != nil {
			if err == io.EOF {
				return fmt.Errorf("read %s: %w", l.name(), io.ErrUnexpectedEOF) // the file shrank while being counted
			}
			return err
		}
		n += uint64(bytes.Count(buf[:k], []byte{'\n'}))
		pos += k
	}
	t.Version = n
	return nil
}
