package record

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestScanLines(t *testing.T) {
	var got []string
	var nums []int64
	err := ScanLines(strings.NewReader("a\n \t\r\nb\r\n\nc"), func(n int64, line []byte) bool {
		nums = append(nums, n)
		got = append(got, string(line))
		return true
	})
	if err != nil || strings.Join(got, "|") != "a|b|c" || len(nums) != 3 || nums[1] != 3 || nums[2] != 5 {
		t.Fatalf("lines %q numbered %v, err %v; want a, b, c at 1, 3, 5", got, nums, err)
	}
	calls := 0
	if err := ScanLines(strings.NewReader("a\nb\nc\n"), func(int64, []byte) bool { calls++; return calls < 2 }); err != nil || calls != 2 {
		t.Errorf("stopping: %d calls, err %v; want 2, nil", calls, err)
	}
	long := "x\n" + strings.Repeat("y", MaxLine+1) + "\n"
	err = ScanLines(strings.NewReader(long), func(int64, []byte) bool { return true })
	if !errors.Is(err, bufio.ErrTooLong) || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("a line over MaxLine: %v; want bufio.ErrTooLong naming line 2", err)
	}
}
