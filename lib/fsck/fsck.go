// Package fsck checks a root directory the way fsck checks a file system:
// every stream's log (complete JSON event lines, no event id twice, no
// torn tail), every snapshot against its log, the stream registry against
// the streams on disk, and every consumer's checkpoint, pending delivery,
// note and dead letters. It reports each finding as it goes and, asked to,
// repairs what can be repaired without losing anything acknowledged:
// a torn tail is cut under the stream's writer lock (the lock every writer,
// eventfold-es's too, takes before appending), a snapshot that does not
// match its log is removed (a snapshot is a cache), and a stream missing
// from the registry is registered.
//
// It reads through the same code the programs read with (eventlog's scan,
// store's snapshot match, checkpoint's loader), so what it calls wrong is
// what they would trip over.
package fsck

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Levels of a finding: an error makes the check fail unless repaired; a
// warning is something no fold program trips over, worth knowing.
const (
	LevelError   = "error"
	LevelWarning = "warning"
)

// Kinds of finding.
const (
	KindTornTail          = "torn_tail"          // a log or file ends in bytes with no newline
	KindCorruptLine       = "corrupt_line"       // a complete log line that is not an event
	KindEventTooLarge     = "event_too_large"    // an event line over the maximum event size
	KindDuplicateEventID  = "duplicate_event_id" // two events of one stream with the same id
	KindBadSnapshot       = "bad_snapshot"       // a snapshot file that cannot be read as one
	KindSnapshotMismatch  = "snapshot_mismatch"  // a snapshot that does not match its log
	KindBadName           = "bad_name"           // a directory under streams/ that is no valid name
	KindBadRegistryLine   = "bad_registry_line"  // a registry line that is not an entry
	KindDuplicateRegistry = "duplicate_registry_entry"
	KindMissingStream     = "missing_stream" // a registry entry whose stream has no log
	KindUnregistered      = "unregistered_stream"
	KindBadCheckpoint     = "bad_checkpoint"  // a checkpoint or pending file that cannot be read
	KindBadCursor         = "bad_cursor"      // a cursor key that names no stream
	KindRewritten         = "rewritten"       // a cursor that does not match its stream's log
	KindBadNote           = "bad_note"        // a consumer.json that cannot be read
	KindBadDeadLetter     = "bad_dead_letter" // a dead-letter line that is not one
	KindIO                = "io"              // a file that could not be read, or a repair that failed
)

// Finding is one thing found wrong, as one JSON line of the report.
type Finding struct {
	Kind    string `json:"kind"`
	Level   string `json:"level"`
	Path    string `json:"path"`
	Offset  *int64 `json:"offset,omitempty"` // the byte offset in Path it concerns
	Stream  string `json:"stream,omitempty"` // "type/id", when it concerns one
	Message string `json:"message"`
	// Repaired says --repair fixed it; Repair says what it would do,
	// when it can.
	Repaired bool   `json:"repaired,omitempty"`
	Repair   string `json:"repair,omitempty"`
}

// Summary is the report's last line: what was checked and what found.
type Summary struct {
	Kind        string `json:"kind"` // "summary"
	Root        string `json:"root"`
	Streams     int    `json:"streams"`
	Events      int64  `json:"events"`
	Snapshots   int    `json:"snapshots"`
	Consumers   int    `json:"consumers"`
	DeadLetters int64  `json:"dead_letters"`
	Errors      int    `json:"errors"` // error findings not repaired
	Warnings    int    `json:"warnings"`
	Repaired    int    `json:"repaired"`
	Repairable  int    `json:"repairable"` // errors --repair would fix
}

// OK reports whether the root is sound: no error is left unrepaired.
func (s Summary) OK() bool { return s.Errors == 0 }

// Config says what to check and whether to repair.
type Config struct {
	Root store.Root
	// Repair cuts torn tails, removes snapshots that do not match their
	// log, and registers unregistered streams.
	Repair bool
	// LockTimeout is how long a repair waits for a stream's writer lock.
	LockTimeout time.Duration
	// MaxEvent is the maximum event size (0: record.DefaultMaxEvent).
	MaxEvent int
	Log      *slog.Logger
}

// Check checks cfg.Root, calling report for each finding in the order
// found (streams in discovery order, then the registry, then consumers by
// kind and name), and returns the summary. It fails only when it cannot go
// on (report failed, ctx ended); what it cannot read is a finding.
func Check(ctx context.Context, cfg Config, report func(Finding) error) (Summary, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &checker{cfg: cfg, ctx: ctx, sum: Summary{Kind: "summary", Root: cfg.Root.Dir}}
	c.report = func(f Finding) error {
		switch {
		case f.Repaired:
			c.sum.Repaired++
		case f.Level == LevelWarning:
			c.sum.Warnings++
		default:
			c.sum.Errors++
			if f.Repair != "" {
				c.sum.Repairable++
			}
		}
		return report(f)
	}
	steps := []func() error{c.streams, c.registry, c.consumers}
	for _, step := range steps {
		if err := step(); err != nil {
			return c.sum, err
		}
		if err := ctx.Err(); err != nil {
			return c.sum, err
		}
	}
	return c.sum, nil
}

// checker is one run of Check.
type checker struct {
	cfg    Config
	ctx    context.Context
	sum    Summary
	report func(Finding) error

	// onDisk is every stream whose log exists, in discovery order, and
	// registered the ones the registry names.
	onDisk     []record.StreamID
	registered map[record.StreamID]bool
}

// errorf reports an error finding.
func (c *checker) errorf(kind, path string, offset *int64, stream, msg string) error {
	return c.report(Finding{Kind: kind, Level: LevelError, Path: path, Offset: offset, Stream: stream, Message: msg})
}

// warnf reports a warning finding.
func (c *checker) warnf(kind, path string, offset *int64, stream, msg string) error {
	return c.report(Finding{Kind: kind, Level: LevelWarning, Path: path, Offset: offset, Stream: stream, Message: msg})
}

// ioError reports what could not be read as a finding: the check goes on.
func (c *checker) ioError(path, stream string, err error) error {
	return c.errorf(KindIO, path, nil, stream, err.Error())
}

func at(n int64) *int64 { return &n }

// errStop ends a scan early without being an error.
var errStop = errors.New("stop")

// Report runs Check and writes its report to w as JSON lines: one per
// finding as found, then the summary. It flushes per finding, so a report
// piped to jq or a terminal shows each as it comes.
func Report(ctx context.Context, cfg Config, w io.Writer) (Summary, error) {
	line := func(v any) error {
		b, err := record.Marshal(v)
		if err == nil {
			_, err = w.Write(append(b, '\n'))
		}
		return err
	}
	sum, err := Check(ctx, cfg, func(f Finding) error { return line(f) })
	if err != nil {
		return sum, err
	}
	return sum, line(sum)
}
