package eventlog

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/fold-es/fold/lib/record"
)

// LineEndingAt finds the line that ends (with its newline) just before
// offset end, and returns the Tail a scan would have reached there: the
// line's start, its hash and, when countVersion is set, the number of lines
// up to it. It is how a snapshot or cursor taken elsewhere is checked
// against the log: ok is false when end is not just past a newline or
// beyond the file.
func LineEndingAt(f *os.File, end int64, countVersion bool) (t Tail, ok bool, err error) {
	if end == 0 {
		return Tail{}, true, nil
	}
	st, err := f.Stat()
	if err != nil {
		return t, false, err
	}
	if end < 0 || end > st.Size() {
		return t, false, nil
	}
	// Read backwards in growing chunks until the previous newline is found.
	chunk := int64(4096)
	for {
		from := max(end-chunk, 0)
		buf := make([]byte, end-from)
		if _, err := f.ReadAt(buf, from); err != nil && err != io.EOF {
			return t, false, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		if buf[len(buf)-1] != '\n' {
			return t, false, nil
		}
		i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
		if i >= 0 || from == 0 {
			start := from + int64(i+1)
			line := buf[i+1 : len(buf)-1]
			t = Tail{Offset: end, Hash: record.Hash(line), LastStart: start}
			break
		}
		chunk *= 4
	}
	if countVersion {
		n, err := CountLines(f, end)
		if err != nil {
			return t, false, err
		}
		t.Version = n
	}
	return t, true, nil
}

// CountLines counts the newlines in the first end bytes of f.
func CountLines(f *os.File, end int64) (uint64, error) {
	r := io.NewSectionReader(f, 0, end)
	buf := make([]byte, 256<<10)
	var n uint64
	for {
		k, err := r.Read(buf)
		n += uint64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", f.Name(), err)
		}
	}
}
