// Package eventlog reads and appends one stream's event log (app.jsonl): a
// file of JSON lines where the offset just past a line and the xxh64 of its
// bytes form the cursor that snapshots and checkpoints record. It knows how
// to find and cut a torn tail, how to take the writer lock on the file, and
// what makes a line corrupt; it knows nothing about aggregates.
package eventlog

import (
	"errors"
	"fmt"
)

// ErrCorrupt marks a complete line that is not a JSON event.
var ErrCorrupt = errors.New("corrupt stream")

// CorruptError names the file and the byte offset where a bad line starts,
// why it is not an event, and what it begins with.
type CorruptError struct {
	Path    string
	Offset  int64
	Reason  string
	Excerpt string // the line's start, quoted
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: bad line at byte %d: %s: %s", e.Path, e.Offset, e.Reason, e.Excerpt)
}

// Unwrap lets callers test errors.Is(err, ErrCorrupt).
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// ErrLockTimeout is returned when the writer lock was held elsewhere for
// longer than the caller was willing to wait.
var ErrLockTimeout = errors.New("lock timeout")

// Entry is one complete line of a log.
type Entry struct {
	Line    []byte // without the newline; valid only during the callback
	Start   int64  // offset of the line's first byte
	End     int64  // offset just past its newline
	Version uint64 // 1-based line number in the log
	Hash    string // xxh64 of Line
	Err     error  // a *CorruptError when the line is not a JSON event
}

// Tail is what a scan saw at the end of a log.
type Tail struct {
	Offset    int64  // just past the last complete line
	Hash      string // hash of the last complete line, "" for an empty log
	LastStart int64  // offset of the last complete line's first byte; negative when not known (Check finds it)
	Version   uint64 // number of complete lines
	Torn      int64  // bytes after Offset with no newline (an unacknowledged write)
}
