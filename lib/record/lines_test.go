package record

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestScanLines(t *testing.T) {
	var got []string
	var nums []int64
	err := ScanLines(strings.NewReader("a\n \t\r\nb\r\n\nc"), 0, func(n int64, line []byte, err error) bool {
		nums = append(nums, n)
		got = append(got, string(line))
		return err == nil
	})
	if err != nil || strings.Join(got, "|") != "a|b|c" || len(nums) != 3 || nums[1] != 3 || nums[2] != 5 {
		t.Fatalf("lines %q numbered %v, err %v; want a, b, c at 1, 3, 5", got, nums, err)
	}
	calls := 0
	if err := ScanLines(strings.NewReader("a\nb\nc\n"), 0, func(int64, []byte, error) bool { calls++; return calls < 2 }); err != nil || calls != 2 {
		t.Errorf("stopping: %d calls, err %v; want 2, nil", calls, err)
	}
	// A read error names the line it met.
	err = ScanLines(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(errors.New("boom"))), 0, func(int64, []byte, error) bool { return true })
	if err == nil || err.Error() != "line 2: boom" {
		t.Errorf("read error: %v; want line 2: boom", err)
	}
}

// TestScanLinesOverTheLimit: a line longer than the limit is one failed
// line, named with its length and the limit, whatever its length against
// the read buffer; the lines after it are read; a line at the limit is
// taken whole.
func TestScanLinesOverTheLimit(t *testing.T) {
	for _, max := range []int{100, scanBuf - 1, scanBuf, scanBuf + 1, 3*scanBuf + 7} {
		for _, size := range []int{max - 1, max, max + 1, max + scanBuf, 5 * scanBuf} {
			for _, eol := range []string{"\n", "\r\n"} {
				name := fmt.Sprintf("max %d, line %d, %q", max, size, eol)
				in := "first" + eol + strings.Repeat("y", size) + eol + "last" + eol
				type line struct {
					n    int64
					text string
					err  error
				}
				var got []line
				err := ScanLines(strings.NewReader(in), max, func(n int64, l []byte, err error) bool {
					got = append(got, line{n, string(l), err})
					return true
				})
				if err != nil || len(got) != 3 || got[0].text != "first" || got[2].text != "last" || got[2].n != 3 || got[1].n != 2 {
					t.Fatalf("%s: %+v, %v", name, got, err)
				}
				var tl *TooLongError
				if size <= max {
					if got[1].err != nil || len(got[1].text) != size {
						t.Errorf("%s: the line at or under the limit: %d bytes, %v", name, len(got[1].text), got[1].err)
					}
					continue
				}
				if !errors.As(got[1].err, &tl) || tl.Size != int64(size) || tl.Limit != max || !errors.Is(got[1].err, ErrInvalid) {
					t.Errorf("%s: %v; want a TooLongError of %d bytes over %d", name, got[1].err, size, max)
				}
				if got[1].text != strings.Repeat("y", headLen) {
					t.Errorf("%s: head %q", name, got[1].text)
				}
			}
		}
	}
	// Last, without a newline.
	var errs []error
	_ = ScanLines(strings.NewReader("a\n"+strings.Repeat("z", 300)), 100, func(_ int64, _ []byte, err error) bool {
		errs = append(errs, err)
		return true
	})
	if len(errs) != 2 || errs[0] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "line is 300 bytes, over the 100-byte limit") {
		t.Errorf("a last long line without newline: %v", errs)
	}
	e := &TooLongError{What: "line", Size: 2 << 20, Limit: MaxLine(0), Flag: lineLimitFlag(MaxLine(0))}
	if want := "line is 2097152 bytes, over the 1052672-byte limit (--max-event-size 1MiB + 4KiB for a record around it)"; e.Error() != want {
		t.Errorf("message %q, want %q", e.Error(), want)
	}
}

// endless is an io.Reader of n bytes of 'x', then "\nend\n": a line as
// long as one likes, made as it is read.
type endless struct{ n int }

func (r *endless) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if r.n < 0 {
		n := copy(p, "\nend\n"[5+r.n:])
		r.n += n
		return n, nil
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	if r.n == 0 {
		r.n = -5
	}
	return k, nil
}

// TestScanLinesSkipsWithoutBuffering: a 256 MiB line is skipped, not held.
func TestScanLinesSkipsWithoutBuffering(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var got []string
	err := ScanLines(&endless{n: 256 << 20}, MaxLine(0), func(_ int64, l []byte, err error) bool {
		got = append(got, fmt.Sprint(len(l), err))
		return true
	})
	runtime.ReadMemStats(&after)
	if err != nil || len(got) != 2 || got[1] != "3 <nil>" || !strings.Contains(got[0], "line is 268435456 bytes") {
		t.Fatalf("%q, %v", got, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("skipping a 256 MiB line allocated %d bytes; want it bounded by the limit", alloc)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "4M": 4 << 20, "2K": 2048, "1GiB": 1 << 30, "100B": 100} {
		if n, err := ParseSize(in); err != nil || n != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "1 MiB", "1mb", "99999999999"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d; want an error", in, n)
		}
	}
	for n, want := range map[int]string{1 << 20: "1MiB", 4096: "4KiB", 1000: "1000", 3 << 30: "3GiB", 1536: "1536"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
