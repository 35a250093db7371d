package handler

import (
	"bufio"
	"errors"
	"io"
)

var errLineTooLong = errors.New("line too long")

// keepLong is the largest buffer for long lines kept between lines.
const keepLong = 4 << 20

// lineReader reads newline-framed lines of any length up to maxLine without
// copying those that fit in the bufio buffer, which is nearly all of them.
type lineReader struct {
	r    *bufio.Reader
	long []byte // reused for lines longer than the buffer
}

func newLineReader(rd io.Reader, size int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(rd, size)}
}

// next returns the next line without its line ending. The slice is valid
// until the next call. On error it returns what it read of an unfinished
// line, so that a final line without a newline comes with io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	if cap(lr.long) > keepLong {
		lr.long = nil // one huge line should not pin its buffer for good
	}
	frag, err := lr.r.ReadSlice('\n')
	line := frag
	if err == bufio.ErrBufferFull {
		line = append(lr.long[:0], frag...)
		for err == bufio.ErrBufferFull {
			if len(line) > maxLine {
				return line, errLineTooLong
			}
			frag, err = lr.r.ReadSlice('\n')
			line = append(line, frag...)
		}
		lr.long = line
	}
	if err != nil {
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// completeLineBuffered reports whether a whole further line is already
// buffered, so that answering it cannot wait on the other side.
func (lr *lineReader) completeLineBuffered() bool {
	n := lr.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := lr.r.Peek(n)
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}
