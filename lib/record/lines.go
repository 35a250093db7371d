package record

import (
	"bufio"
	"fmt"
	"io"
)

// MaxLine is the longest input line the programs accept.
const MaxLine = 64 << 20

// ScanLines reads in line by line, in bounded memory, and calls fn with
// each line that is not blank (IsBlank) and its 1-based number; the line
// is valid until fn returns (a caller that keeps it copies it). It stops when fn returns false (returning nil)
// or at the end of in; a read error, or a line longer than MaxLine, is
// returned naming the line it met.
func ScanLines(in io.Reader, fn func(n int64, line []byte) bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var n int64
	for sc.Scan() {
		n++
		if IsBlank(sc.Bytes()) {
			continue
		}
		if !fn(n, sc.Bytes()) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", n+1, err)
	}
	return nil
}
