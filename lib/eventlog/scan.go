package eventlog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/fold-es/fold/lib/record"
)

// scanBuf is the read buffer size: big enough that most lines are returned
// without copying.
const scanBuf = 256 << 10

// Scan reads the complete lines of f from the start position from (a Tail
// of a previous scan, or the zero Tail) and calls fn for each. A line that
// is not a JSON object with a type is passed with Err set; fn decides
// whether that stops the scan. Bytes after the last newline are reported as
// Tail.Torn and not passed to fn. Scan stops with fn's error, if any.
func Scan(f *os.File, from Tail, fn func(Entry) error) (Tail, error) {
	// A one-off scan sizes its buffer to what is left to read: writers
	// catching up read a few new lines of many logs, and a full-size
	// buffer each time is most of their garbage.
	size := int64(scanBuf)
	if st, err := f.Stat(); err == nil {
		size = min(max(st.Size()-from.Offset+1, 4096), scanBuf)
	}
	s := Scanner{r: bufio.NewReaderSize(nil, int(size))}
	return s.Scan(f, from, fn)
}

// Scanner is Scan with a read buffer kept from one call to the next, so a
// reader of many logs (fold-watch, fold-project) allocates it once. The zero
// Scanner is ready to use; it is not safe for concurrent use.
type Scanner struct {
	r *bufio.Reader
}

// Scan is the package's Scan, reading through s's buffer.
func (s *Scanner) Scan(f *os.File, from Tail, fn func(Entry) error) (Tail, error) {
	return s.ScanTo(f, from, -1, fn)
}

// ScanTo is Scan that reads no further than offset end (-1: to the end of
// the file); bytes after the last newline before end are reported as Torn.
// A reader that made the log durable up to end reads only what is durable.
func (s *Scanner) ScanTo(f *os.File, from Tail, end int64, fn func(Entry) error) (Tail, error) {
	tail := from
	tail.Torn = 0
	if s.r == nil {
		s.r = bufio.NewReaderSize(nil, scanBuf)
	}
	r := s.r
	n := int64(1 << 62)
	if end >= 0 {
		n = max(end-from.Offset, 0)
	}
	r.Reset(io.NewSectionReader(f, from.Offset, n))
	defer r.Reset(nil) // drop the file so the Scanner does not keep it alive
	pos := from.Offset
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				tail.Torn = int64(len(long) + len(chunk))
				return tail, nil
			}
			return tail, err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		end := pos + int64(len(line))
		line = line[:len(line)-1]
		e := Entry{Line: line, Start: pos, End: end, Version: tail.Version + 1, Hash: record.Hash(line)}
		e.Err = checkLine(f.Name(), pos, line)
		if err := fn(e); err != nil {
			return tail, err
		}
		tail = Tail{Offset: end, Hash: e.Hash, LastStart: pos, Version: e.Version}
		pos = end
	}
}

// checkLine decides whether a complete line is an event: a JSON object with
// a "type". It looks only as deep as needed, since replay reads every line.
func checkLine(path string, at int64, line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return &CorruptError{Path: path, Offset: at, Reason: "empty line"}
	}
	if !record.IsObject(line) || !record.Valid(line) {
		return &CorruptError{Path: path, Offset: at, Reason: "not valid JSON"}
	}
	if !bytes.Contains(line, []byte(`"type"`)) {
		return &CorruptError{Path: path, Offset: at, Reason: "event has no type"}
	}
	return nil
}

// LastLineHash returns the hash of the line in [start, end) of f, end being
// just past its newline; it is how a writer checks, without rereading the
// log, that the tail it cached is still the file's tail.
func LastLineHash(f *os.File, start, end int64) (string, error) {
	if end <= start {
		return "", nil
	}
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return "", err
	}
	if buf[len(buf)-1] != '\n' {
		return "", nil
	}
	return record.Hash(buf[:len(buf)-1]), nil
}
