// Package watch reads a store's streams as event records, for fold-watch,
// fold-project and fold-pm. A Source names the streams (all of them, some
// types, or some streams) and delivers their records in batches: CatchUp
// reads what the logs hold now, stream by stream in discovery order, from a
// set of cursors; Follow does the same and then stays, delivering records as
// lines are appended and streams are created (the store's notifications,
// or polling where they are unavailable).
//
// Both stream: a log is read line by line, batches are bounded in records
// and bytes, and what is kept per stream is its cursor and version, so
// memory does not grow with the size of the logs. Only complete lines are
// delivered: a torn tail (a write still in progress, or one that never
// finished) is left for later. A complete line that is not an event is
// reported (OnCorrupt) and skipped; a cursor that no longer matches its log
// is reported as a *RewrittenError (OnRewritten).
package watch

import (
	"context"
	"log/slog"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Batch bounds and the polling fallback, used when a Source leaves its own
// at zero.
const (
	DefaultMaxBatch      = 1024    // records per batch
	DefaultMaxBatchBytes = 4 << 20 // event bytes per batch
	DefaultPoll          = time.Second
)

// Source reads a store's streams. Types and Streams select them: a stream is
// read when its type is in Types or it is in Streams; when both are empty,
// every stream is. A Source is configuration only: each CatchUp or Follow
// call keeps its own state, and may run concurrently with others.
type Source struct {
	Store   store.Store
	Types   []string
	Streams []record.StreamID
	// Order is how records of different streams are ordered: ByStream
	// (the default), or ByStore for a store.Ordered.
	Order Order

	MaxBatch      int // records per batch; 0: DefaultMaxBatch
	MaxBatchBytes int // event bytes per batch (a longer line is a batch of its own); 0: DefaultMaxBatchBytes

	// Poll makes Follow look for changes at this interval instead of
	// waiting for the store's notifications (store.Poller: for the file
	// backend, its change journal and its directories' times). When it is
	// zero and the store cannot notify at all, Follow polls every
	// DefaultPoll and logs a warning.
	Poll time.Duration
	// Settle makes Follow wait this long after a notification before
	// reading, so a burst of appends is read as one batch. Notifications
	// already queued are always taken together; zero adds no latency.
	Settle time.Duration

	// OnCorrupt is called for each complete line that is not an event; the
	// line is skipped when it returns nil, and the read stops with its
	// error otherwise. Nil skips silently.
	OnCorrupt func(*eventlog.CorruptError) error
	// OnRewritten is called when a cursor does not match its log (the
	// stream was rewritten, cut short or removed). When it returns nil the
	// stream is read again from its first line; the callback runs on the
	// goroutine that calls fn, before any record of the stream read anew,
	// so it may drop the consumer's cursor for it. Nil, or an error
	// returned, stops the read with that error.
	OnRewritten func(*RewrittenError) error
	// Progress, when set, is called during a catch-up after each stream
	// and each batch, on the goroutine that calls fn.
	Progress func(Progress)
	// Checked, when not zero, vouches for the cursors given to CatchUp
	// and Follow: each was found to match its log at or after this time
	// (a consumer's last complete catch-up, consumer.Consumer.Checked).
	// A log whose size is its cursor's offset and whose change time is
	// older than Checked (by ChangeMargin) has not been written since it
	// matched, so it has nothing new and is not opened: with a
	// store.LogStater that is one stat per stream instead of an open, a
	// read and a close. Any other log is checked by its last line.
	Checked time.Time
	// Log receives debug and warning messages (a fallback to polling, a
	// lost notification); nil discards them.
	Log *slog.Logger
}

// Batch is a run of records in log order within each stream, streams in
// discovery order. Records and their Event bytes are valid only until the
// callback returns: a consumer that keeps them must copy them.
type Batch struct {
	Records []record.Record
	// Idle is set on the last batch of a read, when every selected log has
	// been read to its end as of now: a consumer flushes its output and
	// saves its checkpoint there. The first Idle batch ends the catch-up
	// and is delivered even when it holds no record; a Follow delivers
	// later ones only after reading new records.
	Idle bool
}

// Progress is how far a catch-up has got.
type Progress struct {
	Streams int   // streams selected
	Done    int   // streams read
	Records int64 // records read so far
}

func (s *Source) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// CatchUp reads every selected stream from its cursor (cursors maps
// "type/id" to the position just past the last record the consumer has;
// a stream without one is read from its start) to the end of its log, and
// calls fn with the records in batches, the last one Idle. It does not
// modify cursors. A stream named in Streams that does not exist is an error
// wrapping store.ErrNoStream. CatchUp stops with fn's error, the
// OnCorrupt/OnRewritten error, or ctx.Err() when ctx is done (records
// read but not yet delivered are then dropped: the consumer's cursors
// still say where to resume).
func (s *Source) CatchUp(ctx context.Context, cursors map[string]record.Cursor, fn func(Batch) error) error {
	if s.Order == ByStore {
		return s.readOrdered(ctx, cursors, false, fn)
	}
	r := s.newReader(ctx, fn)
	done, need, err := r.quick(cursors)
	if err != nil {
		return err
	}
	if done {
		return r.b.flush(true)
	}
	ids, tails, err := r.start(cursors)
	if err != nil {
		return err
	}
	if need != nil {
		ids, tails = r.only(need, ids, tails)
	}
	if err := r.readAll(ids, tails); err != nil {
		return err
	}
	return r.b.flush(true)
}
