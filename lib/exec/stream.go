package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// stream is an actor's cache of its instance: the open log, the tail it
// has seen, and the state the handler derived from it.
type stream struct {
	e    *Engine
	id   record.StreamID
	pool *handler.Pool // nil when the type has no handler (inject only)

	w       store.Writer
	loaded  bool          // tail and state reflect the log up to tail
	tail    eventlog.Tail // cached position; moves ahead as events are decided
	state   record.RawMessage
	snapVer uint64 // version the newest snapshot known covers
	created bool

	cmdIDs map[string]struct{} // command_ids in the log, built on first need
	evIDs  map[string]struct{} // event ids in the log, built on first need

	otherSeen time.Time // when another process was last seen writing (turns.go)

	pendingLines []byte  // decided event lines not yet appended
	eager        *syncer // with --sync each under the lock: lines are written as decided
	reqBuf       []byte  // the last handle request, its buffer reused for the next
}

func (s *stream) init(e *Engine, id record.StreamID) {
	s.e, s.id = e, id
	s.pool = e.cfg.Routes[id.Type]
}

// reset drops the cache: the next batch reloads from the log.
func (s *stream) reset() {
	s.loaded = false
	s.tail = eventlog.Tail{}
	s.cmdIDs, s.evIDs = nil, nil
	s.resetState()
}

func (s *stream) resetState() {
	s.state = record.Null
	s.snapVer = 0
}

// open opens the log if it exists and is not open yet.
func (s *stream) open() error {
	if s.w != nil {
		return nil
	}
	w, _, err := s.e.cfg.Store.OpenWriter(s.id, false)
	if errors.Is(err, store.ErrNoStream) {
		return nil
	}
	if err != nil {
		return err
	}
	s.w = w
	return nil
}

// create makes the log (the store registers it); its names become durable
// with its first flush, before any event in it is acknowledged.
func (s *stream) create() error {
	w, created, err := s.e.cfg.Store.OpenWriter(s.id, true)
	if err != nil {
		return fmt.Errorf("create stream %s: %w", s.id, err)
	}
	s.w, s.created = w, created
	return nil
}

// close saves a snapshot if events came since the last one, as eventfold-es
// does when an actor exits, and closes the log.
func (s *stream) close() error {
	if s.w == nil {
		return nil
	}
	var err error
	if s.loaded && s.hasState() && s.e.cfg.SnapshotEvery > 0 && s.uncovered() > 0 {
		err = s.saveSnapshot()
	}
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	s.w = nil
	s.reset()
	return err
}

// hasState reports whether the stream's state is kept: its type has a
// handler (an --inject-only type has none).
func (s *stream) hasState() bool { return s.pool != nil }

// uncovered is how many events of the log the snapshot does not cover.
func (s *stream) uncovered() uint64 { return s.tail.Version - min(s.snapVer, s.tail.Version) }

func (s *stream) maybeSnapshot() {
	every := s.e.cfg.SnapshotEvery
	if every <= 0 || s.uncovered() < uint64(every) || !s.hasState() {
		return
	}
	if err := s.saveSnapshot(); err != nil {
		s.e.cfg.Log.Warn("save snapshot", "stream", s.id.String(), "err", err)
	}
}

// saveSnapshot writes the cached state. It is not fsynced: a snapshot is a
// cache that names the log position it covers, checked on every load.
func (s *stream) saveSnapshot() error {
	v := s.tail.Version
	snap := record.Snapshot{State: s.state, Offset: s.tail.Offset, Hash: s.tail.Hash, Version: &v}
	if err := s.e.cfg.Store.SaveSnapshot(s.id, snap, false); err != nil {
		return err
	}
	s.e.cfg.Log.Debug("snapshot saved", "stream", s.id.String(), "version", v)
	s.snapVer = s.tail.Version
	return nil
}

// refreshLocked brings the cache up to the log's real tail: a writer never
// decides on stale state. The writer lock must be held.
func (s *stream) refreshLocked(ctx context.Context) error {
	if s.loaded {
		c, err := s.w.Check(&s.tail)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.w.Name(), err)
		}
		switch c {
		case eventlog.Same:
			return nil
		case eventlog.More:
			s.sawOther()
			return s.catchUpLocked(ctx)
		}
	}
	if s.loaded {
		s.e.cfg.Log.Info("log changed under the cache; reloading", "stream", s.id.String())
		s.sawOther()
	}
	s.reset()
	if err := s.loadSnapshot(s.w); err != nil {
		return err
	}
	s.loaded = true
	from := s.tail.Version
	if err := s.catchUpLocked(ctx); err != nil {
		return err
	}
	s.e.cfg.Log.Debug("loaded", "stream", s.id.String(), "version", s.tail.Version, "from_snapshot", from, "replayed", s.tail.Version-from)
	return nil
}

// loadSnapshot starts the cache from the snapshot when it matches lg, the
// stream's log: the line ending at its offset has its hash, and the log
// holds as many lines up to there as its version says (eventfold-es's
// snapshots have none: it is taken from the count). Anything else is
// ignored with a warning, and the log replayed: a snapshot is a cache,
// and a wrong one would give every later command a wrong version.
func (s *stream) loadSnapshot(lg store.Log) error {
	if s.pool == nil {
		return nil
	}
	snap, err := s.e.cfg.Store.LoadSnapshot(s.id)
	if err == nil && snap != nil {
		err = snap.Check() // a backend may hand over what it did not parse
	}
	if err != nil {
		s.e.cfg.Log.Warn("ignoring invalid snapshot; replaying the log", "stream", s.id.String(), "err", err)
		return nil
	}
	if snap == nil || snap.Offset == 0 {
		return nil // none, or one of the empty log: nothing to skip
	}
	t, mismatch, err := store.MatchSnapshot(lg, *snap)
	if err != nil {
		return fmt.Errorf("read %s: %w", lg.Name(), err)
	}
	if mismatch != "" {
		s.e.cfg.Log.Warn("ignoring snapshot: "+mismatch+"; replaying", "stream", s.id.String(), "offset", snap.Offset, "hash", snap.Hash)
		return nil
	}
	s.tail, s.state, s.snapVer = t, snap.State, t.Version
	return nil
}

// catchUpLocked reads the log past the cached tail, folding new events into
// the state, and cuts a torn tail. The writer lock must be held.
func (s *stream) catchUpLocked(ctx context.Context) error {
	r := replayer{ctx: ctx, s: s}
	t, err := s.w.Scan(s.tail, -1, r.entry)
	if err = r.finish(err); err != nil {
		s.reset()
		return err
	}
	s.tail = t
	if t.Torn > 0 {
		s.e.cfg.Log.Warn("cutting torn tail (an unacknowledged write)", "stream", s.id.String(), "log", s.w.Name(), "offset", t.Offset, "bytes", t.Torn)
		if err := s.w.Truncate(t.Offset); err != nil {
			s.reset()
			return err
		}
	}
	return nil
}

// unflushedLocked handles a failed flush: outcome i and the decisions
// after it fail (failFrom), and the log is cut back to from, where outcome
// i's lines begin and up to where it was durable. The flush is not tried
// again: a failed fdatasync may have dropped the data it was writing from
// the page cache, and one that succeeds later would then make durable the
// lines after a hole. The cache is dropped, so the next decision reads the
// log as it is. A log that cannot be cut back is closed, so nothing more
// is appended through it; the next batch opens it again. The writer lock
// must be held.
func (s *stream) unflushedLocked(outs []outcome, i int, from int64, err error) {
	if terr := s.w.Truncate(from); terr != nil {
		s.e.cfg.Log.Warn("cannot cut back events whose flush failed", "stream", s.id.String(), "offset", from, "err", terr)
		_ = s.w.Close()
		s.w = nil
	}
	s.failFrom(outs, i, err)
}

// keepBuf is the largest buffer (a request, decided lines) a stream
// keeps for reuse: there are as many as cached actors, so what they keep
// is outside the memory budget, and a few KiB each.
const keepBuf = 8 << 10

// apply asks the handler to fold events onto the cached state.
func (s *stream) apply(ctx context.Context, events [][]byte) (record.RawMessage, error) {
	req := appendApplyRequest(s.reqBuf[:0], s.id, s.state, events)
	// Reused, as by decideOne (calls on a stream run one at a time), but
	// not a large one: every cached actor would keep megabytes.
	if cap(req) <= keepBuf {
		s.reqBuf = req
	}
	return s.applyRequest(ctx, req)
}

// applyRequest sends an apply request and returns the state it answers.
// It does not touch the cache, so a replay may run it beside its reading.
func (s *stream) applyRequest(ctx context.Context, req []byte) (record.RawMessage, error) {
	ans, err := s.call(ctx, req)
	if err != nil {
		return nil, err
	}
	a, err := handler.ApplyAnswerFrom(ans)
	if err != nil {
		return nil, &Failure{Kind: KindHandlerFailed, Err: fmt.Errorf("apply on %s: %w", s.id, err)}
	}
	return a.State, nil
}

// call sends one request to the type's handler, within the engine's jobs.
func (s *stream) call(ctx context.Context, req []byte) ([]byte, error) {
	s.e.jobs <- struct{}{}
	ans, err := s.pool.Call(ctx, req)
	<-s.e.jobs
	if err != nil {
		return nil, &Failure{Kind: KindHandlerFailed, Err: err}
	}
	return ans, nil
}
