package record

import (
	"fmt"
	"strconv"
	"strings"
)

// The one maximum event size. An event line (without its newline) longer
// than the maximum is refused by every writer, and every reader takes a
// line that holds one: a record wraps its event with at most
// RecordOverhead bytes, so the pipe readers take lines up to
// MaxLine(max). --max-event-size raises the maximum, up to
// MaxEventCeiling, and must be raised alike on both sides of a pipe.
const (
	// DefaultMaxEvent is 1 MiB, NATS's default message size: events
	// describe what happened, and blobs belong elsewhere.
	DefaultMaxEvent = 1 << 20
	// MaxEventCeiling keeps one event, with a state beside it, inside the
	// 64 MiB a handler protocol line may take.
	MaxEventCeiling = 16 << 20
	// RecordOverhead bounds what a record adds to its event line: the
	// type and id (255 bytes each, six times that at worst escaped), the
	// version, offset and hash, and the keys.
	RecordOverhead = 4 << 10
)

// MaxLine is the longest input line a program reads when events may be
// maxEvent bytes long (0: DefaultMaxEvent): a record around the longest
// event. Envelopes and --inject lines are held to the same length.
func MaxLine(maxEvent int) int {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return maxEvent + RecordOverhead
}

// TooLongError is a line or event over its limit.
type TooLongError struct {
	What  string // "line" or "event"
	Size  int64  // its length in bytes
	Limit int    // the most allowed
	Flag  string // how the limit is set, e.g. "--max-event-size 1MiB + 4KiB"
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the %d-byte limit (%s)", e.What, e.Size, e.Limit, e.Flag)
}

// Unwrap marks the line invalid input.
func (e *TooLongError) Unwrap() error { return ErrInvalid }

// CheckEventSize refuses an event line longer than maxEvent (0:
// DefaultMaxEvent), what every writer checks before appending. The
// caller may name the event better in What.
func CheckEventSize(line []byte, maxEvent int) *TooLongError {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	if len(line) <= maxEvent {
		return nil
	}
	return &TooLongError{What: "event", Size: int64(len(line)), Limit: maxEvent, Flag: "--max-event-size " + FormatSize(maxEvent)}
}

// sizeUnits are the suffixes ParseSize takes, largest first.
var sizeUnits = []struct {
	suffix string
	n      int
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}

// ParseSize reads a size such as 1048576, 512KiB, 4MiB or 4M (binary
// units either way).
func ParseSize(s string) (int, error) {
	num, unit := s, 1
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = n, u.n
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil || n > (1<<40)/uint64(unit) {
		return 0, fmt.Errorf("%s is not a size (bytes, or a number with KiB, MiB or GiB)", Quote(s))
	}
	return int(n) * unit, nil
}

// FormatSize writes n in the largest binary unit that divides it, as
// ParseSize reads it.
func FormatSize(n int) string {
	for _, u := range sizeUnits[:3] {
		if n >= u.n && n%u.n == 0 {
			return strconv.Itoa(n/u.n) + u.suffix
		}
	}
	return strconv.Itoa(n)
}
