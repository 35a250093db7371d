package eventlog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/fold-es/fold/lib/record"
)

// scanBuf is the read buffer size: big enough that most lines are returned
// without copying.
const scanBuf = 256 << 10

// readerPool keeps the read buffers of scans. A reader of 100,000 small
// logs (fold-watch, fold-project, fold-pm) scans one after the other and
// would otherwise make a buffer per log; a writer catches up a few lines
// of one of many logs at a time. Either way few scans run at once, so few
// buffers exist.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, scanBuf) }}

// ScanAt reads the complete lines of a log held by r (named name in
// errors) from the start position from, no further than offset end (-1:
// to the end), and calls fn for each: the one parser of the log format,
// for every backend that can read its log's bytes. A line that is not a
// JSON object with a type is passed with Err set; fn decides whether that
// stops the scan. Bytes after the last newline are reported as Tail.Torn
// and not passed to fn. ScanAt stops with fn's error, if any.
func ScanAt(r io.ReaderAt, name string, from Tail, end int64, fn func(Entry) error) (Tail, error) {
	n := int64(1 << 62)
	if end >= 0 {
		n = max(end-from.Offset, 0)
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(io.NewSectionReader(r, from.Offset, n))
	defer func() {
		br.Reset(nil) // drop the file so the pool does not keep it alive
		readerPool.Put(br)
	}()
	tail := from
	tail.Torn = 0
	pos := from.Offset
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
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
		e.Err = checkLine(name, pos, line)
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
	reason := ""
	switch {
	case len(bytes.TrimSpace(line)) == 0:
		reason = "empty line"
	case !record.IsObject(line) || !record.Valid(line):
		reason = "not valid JSON"
	case !bytes.Contains(line, []byte(`"type"`)):
		reason = "event has no type"
	default:
		return nil
	}
	return &CorruptError{Path: path, Offset: at, Reason: reason, Excerpt: record.Excerpt(line, 60)}
}
