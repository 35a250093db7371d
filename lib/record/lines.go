package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// scanBuf is ScanLines' read buffer: lines that fit are lent from it
// without a copy, nearly all of them.
const scanBuf = 64 << 10

// headLen is how much of a line over the limit is kept to name it.
const headLen = 64

// keepLong is the largest buffer for long lines kept between lines.
const keepLong = 4 << 20

// ScanLines reads in line by line, in bounded memory, and calls fn with
// each line that is not blank (IsBlank) and its 1-based number; the line
// is valid until fn returns (a caller that keeps it copies it). A line
// longer than max bytes (0: MaxLine(0)) is not read into memory: the rest
// of it is skipped, and fn gets its first bytes with a *TooLongError
// naming its length and the limit, so that it is one failed line and the
// next ones are read. ScanLines stops when fn returns false (returning
// nil) or at the end of in; a read error is returned naming the line it
// met.
func ScanLines(in io.Reader, max int, fn func(n int64, line []byte, err error) bool) error {
	if max <= 0 {
		max = MaxLine(0)
	}
	br := bufio.NewReaderSize(in, scanBuf)
	var long []byte // a line longer than the buffer, gathered
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > max+1 { // +1: room for a '\r'
				head := append(long, chunk[:min(len(chunk), headLen)]...)
				head = head[:min(len(head), headLen)]
				size, err := skipLine(br, int64(len(long)+len(chunk)), chunk[len(chunk)-1])
				n++
				if !fn(n, head, &TooLongError{What: "line", Size: size, Limit: max, Flag: lineLimitFlag(max)}) {
					return nil
				}
				long = long[:0]
				if err != nil {
					return readError(n, err)
				}
				continue
			}
			long = append(long, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return readError(n+1, err)
		}
		line := chunk
		if len(long) > 0 {
			line = append(long, chunk...)
			long = long[:0]
		}
		if len(line) == 0 {
			return nil // the end, after a newline
		}
		n++
		line = dropNewline(line)
		var tooLong error
		if len(line) > max {
			tooLong = &TooLongError{What: "line", Size: int64(len(line)), Limit: max, Flag: lineLimitFlag(max)}
			line = line[:min(len(line), headLen)]
		}
		if (tooLong != nil || !IsBlank(line)) && !fn(n, line, tooLong) {
			return nil
		}
		if err != nil {
			return nil // io.EOF: the last line had no newline
		}
		if cap(long) > keepLong {
			long = nil // one long line should not pin its buffer for good
		}
	}
}

// skipLine reads past the end of the line being read, of which read bytes
// were already taken, ending with last, and returns the line's whole
// length without its "\n" or "\r\n".
func skipLine(br *bufio.Reader, read int64, last byte) (int64, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		read += int64(len(chunk))
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			last = chunk[len(chunk)-1]
			continue
		case errors.Is(err, io.EOF):
			return read, nil
		case err != nil:
			return read, err
		}
		read-- // the newline
		if len(chunk) > 1 {
			last = chunk[len(chunk)-2]
		}
		if last == '\r' {
			read--
		}
		return read, nil
	}
}

// dropNewline cuts a line's "\n" or "\r\n".
func dropNewline(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

func readError(line int64, err error) error { return fmt.Errorf("line %d: %w", line, err) }

// lineLimitFlag says how an input line limit is set.
func lineLimitFlag(max int) string {
	if ev := max - RecordOverhead; ev > 0 {
		return "--max-event-size " + FormatSize(ev) + " + " + FormatSize(RecordOverhead) + " for a record around it"
	}
	return "the input line limit"
}

// Budget bounds the bytes of input lines read but not yet done with, so a
// reader that runs ahead of its consumer holds a bounded amount of memory
// however long the lines: lines in flight are counted, not only lines.
// One goroutine takes, any may give back.
type Budget struct {
	max   int
	mu    sync.Mutex
	used  int
	freed chan struct{}
}

// NewBudget returns a budget of max bytes.
func NewBudget(max int) *Budget { return &Budget{max: max, freed: make(chan struct{}, 1)} }

// Take waits until n more bytes fit (a line alone always fits) and counts
// them; it reports false if quit is closed first.
func (b *Budget) Take(n int, quit <-chan struct{}) bool {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return true
		}
		b.mu.Unlock()
		select {
		case <-b.freed:
		case <-quit:
			return false
		}
	}
}

// Give returns n bytes taken.
func (b *Budget) Give(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	select {
	case b.freed <- struct{}{}:
	default:
	}
}
