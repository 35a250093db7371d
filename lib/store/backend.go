package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// Store is where streams live: their logs, snapshots and registry. The
// programs and the packages they share (lib/exec, lib/watch) see streams
// only through it, so a second backend (NATS JetStream, SPEC §7) is a
// second implementation, not a change to them. Root, a directory in the
// eventfold-es 0.2.0 layout, is the file backend.
//
// Positions are the SPEC's whatever the backend: a line of a log is
// addressed by the byte offset just past it in the eventfold-format log
// and the xxh64 of its bytes, so a record, a checkpoint and a snapshot name
// the same place in every backend. The state a consumer keeps (checkpoints,
// dead letters) is not part of a Store: it stays in a local directory.
//
// A Store is safe for concurrent use; the Logs and Writers it opens are
// not.
type Store interface {
	// Location names the store in messages, and in the FOLD_ROOT that
	// handlers are given.
	Location() string
	// Exists reports whether the store has been created (by a first write).
	Exists() bool

	// Streams lists the streams (of the given types, or all) in discovery
	// order: the order of creation as far as the store knows it.
	Streams(types ...string) ([]record.StreamID, error)
	// StreamsUnchecked is Streams for readers that open every stream
	// anyway: it may list a stream whose log is gone (OpenLog then says
	// so), where checking each would cost a call per stream.
	StreamsUnchecked(types ...string) ([]record.StreamID, error)
	// HasStream reports whether a stream's log exists.
	HasStream(id record.StreamID) bool

	// OpenLog opens a stream's log for reading. A missing log is an error
	// wrapping ErrNoStream.
	OpenLog(id record.StreamID) (Log, error)
	// OpenWriter opens a stream's log for appending. With create a missing
	// log is made, registered, and created reports that this call made it;
	// without, a missing log is an error wrapping ErrNoStream. The names a
	// creation adds become durable with the writer's first Sync (or a
	// SyncWriters that includes it).
	OpenWriter(id record.StreamID, create bool) (w Writer, created bool, err error)
	// SyncWriters makes what was appended through every writer given
	// durable, as Sync on each would, at the cost the backend can do it
	// for together (group commit).
	SyncWriters(ws []Writer) error

	// LoadSnapshot reads a stream's snapshot: nil, nil when there is none,
	// an error when it is unreadable (the caller then replays the log: a
	// snapshot is a cache).
	LoadSnapshot(id record.StreamID) (*record.Snapshot, error)
	// SaveSnapshot replaces a stream's snapshot atomically; durable also
	// makes it survive a crash.
	SaveSnapshot(id record.StreamID, s record.Snapshot, durable bool) error

	// Watch reports changes to the selected streams from now on: appends
	// and new streams. An error means the backend cannot notify here and
	// the caller should poll.
	Watch(sel Selection, log *slog.Logger) (Watcher, error)
}

// Log is one stream's log, open for reading. Offsets are byte positions
// in the eventfold-format log (see Store).
type Log interface {
	// Name names the log in messages (a path, a subject).
	Name() string
	// Check compares a position with the log: the line it names still
	// ends there (Same, or More when the log goes on), or the log was cut
	// short or rewritten (Short, Changed). A negative t.LastStart means the
	// line's start is not known; Check then sets it.
	Check(t *eventlog.Tail) (eventlog.Check, error)
	// Count sets t.Version to the number of lines before t.Offset.
	Count(t *eventlog.Tail) error
	// Scan calls fn for each complete line after from, no further than
	// offset end (-1: to the end), and returns the position past the last
	// one (bytes after it without a newline counted as Torn). A line that
	// is not an event comes with Err set to a *eventlog.CorruptError; fn
	// decides whether that stops the scan. Scan stops with fn's error.
	Scan(from eventlog.Tail, end int64, fn func(eventlog.Entry) error) (eventlog.Tail, error)
	// Durable makes the log durable as far as it goes now, whoever wrote
	// it, and returns that offset: how far a follower may report records
	// as acknowledged.
	Durable() (int64, error)
	Close() error
}

// Writer is a log open for appending. One writer appends to a stream at a
// time, holding its lock; a writer checks the position it decided on
// (Check) after taking the lock, so it never decides on stale state.
type Writer interface {
	Log
	// Lock takes the stream's exclusive writer lock, waiting up to
	// timeout while another process holds it (then an error wrapping
	// eventlog.ErrLockTimeout).
	Lock(ctx context.Context, timeout time.Duration) (unlock func() error, err error)
	// Append writes lines (each ending in a newline) at the end of the log,
	// which ends at offset end; on failure nothing of them stays. The lock
	// must be held. A backend whose lock does not reach other machines
	// (JetStream) checks instead that the log still ends at end, and fails
	// with an error wrapping ErrConflict when another writer appended
	// first: the caller then reads the log again and decides again.
	Append(lines []byte, end int64) error
	// Truncate cuts the log to offset end: a torn tail's repair. The lock
	// must be held.
	Truncate(end int64) error
	// Sync makes what was appended durable.
	Sync() error
}

// Watcher delivers the changes a Store.Watch reports.
type Watcher interface {
	// Changes delivers the changes; it is closed when notifications stop
	// for good (an error for a follower).
	Changes() <-chan Change
	Close() error
}

// Change is one notification: a selected stream may have grown or
// appeared, or (All) notifications were lost and any stream may have.
type Change struct {
	Stream record.StreamID
	All    bool
	// Size, when positive, is the length the stream's log had when the
	// change was seen: a reader whose position in it is exactly there has
	// nothing new to read because of this change. A backend that reports
	// every stream it looked at (the file backend's scan) says so, so
	// that a follower reads only those that grew.
	Size int64
}

// Poller is a Store that can look for changes at an interval without
// notifications, at a cost that does not grow with its streams (the file
// backend, which reads its change journal). A follower of a store
// without it polls by reading every selected log.
type Poller interface {
	Poll(sel Selection, every time.Duration, log *slog.Logger) (Watcher, error)
}

// Syncer is a Store that can make every log it holds durable in one call
// (the file backend on Linux: syncfs(2)), for readers that print only
// durable records: a follower reading 100,000 logs flushes once per batch
// rather than once per log. SyncAll fails with an error wrapping
// errors.ErrUnsupported where it cannot; the reader then flushes each log
// it reads (Log.Durable).
type Syncer interface {
	SyncAll() error
}

// Settler is a Watcher that defers the part of its set-up that costs
// something per stream until its caller has caught up, so that it does
// not compete with the catch-up; CaughtUp says so. A Watcher never told
// starts it by itself after a while.
type Settler interface {
	CaughtUp()
}

// ErrConflict is what Writer.Append fails with when the log no longer ends
// where the writer read it: another writer, on another machine, appended
// first. Nothing was appended; reading the log again and deciding again
// is the remedy (optimistic concurrency).
var ErrConflict = errors.New("stream changed since it was read")

// ErrUnavailable marks an error of a store that cannot be reached now (a
// server down, a cluster electing a leader): trying again later may
// succeed, and what was acknowledged before stays.
var ErrUnavailable = errors.New("store unavailable")

// Ordered is a Store that keeps one order across all its streams, the
// order their lines were appended in (JetStream's stream sequence). The
// file backend keeps none: its streams are files of their own.
type Ordered interface {
	Store
	// ReadOrdered calls fn for each complete line of the selected streams
	// in the order they were appended, from the first, each with its
	// stream and the SPEC positions it has in its own log. It calls
	// caughtUp whenever every line stored so far was passed to fn; without
	// follow it then returns, with follow it waits for more until ctx is
	// done. It stops with the first error of fn or caughtUp.
	ReadOrdered(ctx context.Context, sel Selection, follow bool, fn func(record.StreamID, eventlog.Entry) error, caughtUp func() error) error
}
