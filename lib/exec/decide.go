package exec

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// decideOne asks the handler to decide one command on the cached state. On
// success the events' lines are queued in pendingLines and the cache moves
// ahead as if they were appended; their records are returned.
func (s *stream) decideOne(ctx context.Context, j *job) ([]record.Record, *Failure) {
	env := j.env
	if env.CommandID != "" {
		if err := s.ensureCmdIDs(); err != nil {
			return nil, AsFailure(err, KindIO)
		}
		if _, dup := s.cmdIDs[env.CommandID]; dup {
			return nil, fail(KindDuplicate, "command_id %s already recorded in %s", record.Quote(env.CommandID), s.id)
		}
	}
	if env.ExpectedVersion != nil && *env.ExpectedVersion != s.tail.Version {
		return nil, fail(KindConflict, "expected_version %d but %s is at version %d", *env.ExpectedVersion, s.id, s.tail.Version)
	}
	req, err := appendHandleRequest(s.reqBuf[:0], s.id, s.tail.Version, s.state, env)
	if err != nil {
		return nil, fail(KindInvalid, "encode handle request: %w", err)
	}
	if cap(req) <= keepBuf {
		s.reqBuf = req // reused: the call is over when it returns
	}
	raw, err := s.call(ctx, req)
	if err != nil {
		return nil, AsFailure(err, KindHandlerFailed)
	}
	ans, err := handler.HandleAnswerFrom(raw)
	if err != nil {
		return nil, fail(KindHandlerFailed, "handle on %s: %w", s.id, err)
	}
	if len(ans.Events) > 0 {
		if err := record.CheckText(raw); err != nil {
			// The decoder would store U+FFFD in its place.
			return nil, fail(KindHandlerFailed, "handle on %s: answer: %w", s.id, err)
		}
	}
	if ans.Error != nil {
		return nil, &Failure{Kind: KindRejected, Err: &Rejection{Stream: s.id, Reason: *ans.Error}}
	}
	if len(ans.Events) == 0 {
		if ans.State != nil {
			s.state = ans.State
		}
		return nil, nil
	}
	meta, err := eventMeta(env)
	if err != nil {
		return nil, fail(KindInvalid, "context: %w", err)
	}
	now := s.e.cfg.Now().Unix()
	lines := make([][]byte, 0, len(ans.Events))
	recs := make([]record.Record, 0, len(ans.Events))
	ids := make([]string, 0, len(ans.Events))
	for i, out := range ans.Events {
		ids = append(ids, record.NewEventID())
		ev := record.Event{Type: out.Type, Data: out.Data, Ts: now, ID: ids[len(ids)-1], Actor: env.Context.Actor, Meta: meta}
		line := record.AppendEvent(make([]byte, 0, eventLineSize(ev)), ev)
		if tl := record.CheckEventSize(line, s.e.cfg.MaxEvent); tl != nil {
			tl.What = fmt.Sprintf("handle on %s: event %d of %d (%s)", s.id, i+1, len(ans.Events), record.Quote(out.Type))
			return nil, &Failure{Kind: KindHandlerFailed, Err: tl}
		}
		lines = append(lines, line)
	}
	state := ans.State
	if state == nil {
		// The handler did not say the new state: ask it to apply.
		if state, err = s.apply(ctx, lines); err != nil {
			return nil, AsFailure(err, KindHandlerFailed)
		}
	}
	for i, line := range lines {
		recs = append(recs, s.stage(line))
		if s.evIDs != nil {
			s.evIDs[ids[i]] = struct{}{}
		}
	}
	s.state = state
	if env.CommandID != "" {
		s.cmdIDs[env.CommandID] = struct{}{}
	}
	return recs, nil
}

// Rejection is an aggregate's refusal of a command, with its reason as the
// handler gave it.
type Rejection struct {
	Stream record.StreamID
	Reason string
}

func (r *Rejection) Error() string { return r.Stream.String() + " rejected the command: " + r.Reason }

// injectOne queues an event given on input, skipping one whose id the
// stream already holds.
func (s *stream) injectOne(j *job) ([]record.Record, *Failure) {
	ev := *j.inject
	if ev.ID != "" {
		if err := s.ensureEvIDs(); err != nil {
			return nil, AsFailure(err, KindIO)
		}
		if _, dup := s.evIDs[ev.ID]; dup {
			return nil, fail(KindDuplicate, "event id %s already in %s", record.Quote(ev.ID), s.id)
		}
	}
	line := ev.Line // a whole event line, relayed byte for byte
	if line == nil {
		if ev.Ts == 0 {
			ev.Ts = s.e.cfg.Now().Unix()
		}
		line = record.AppendEvent(nil, ev)
	}
	if tl := record.CheckEventSize(line, s.e.cfg.MaxEvent); tl != nil {
		return nil, &Failure{Kind: KindInvalid, Err: tl}
	}
	if s.hasState() {
		st, err := s.apply(j.ctx, [][]byte{line})
		if err != nil {
			return nil, AsFailure(err, KindHandlerFailed)
		}
		s.state = st
	}
	s.noteIDs(line) // its meta may carry a command_id of its own
	return []record.Record{s.stage(line)}, nil
}

// stage queues one event line and moves the cached tail past it. The
// caller notes the line's ids in the dedup sets: it knows them without
// parsing the line again.
func (s *stream) stage(line []byte) record.Record {
	start := s.tail.Offset
	s.pendingLines = append(s.pendingLines, line...)
	s.pendingLines = append(s.pendingLines, '\n')
	hash := record.Hash(line)
	s.tail = eventlog.Tail{
		Offset: start + int64(len(line)) + 1, Hash: hash, LastStart: start, Version: s.tail.Version + 1,
	}
	return record.Record{
		AggregateType: s.id.Type, InstanceID: s.id.ID, Version: s.tail.Version,
		Offset: s.tail.Offset, Hash: hash, Event: line,
	}
}

// appendLocked writes the batch's decided lines and makes them durable per
// the sync mode. With --sync each every command gets its own write and
// fdatasync; otherwise the batch is one write and one group flush. On
// failure the commands not yet durable fail, with every later decision
// (failFrom), and the log is cut back to what was durable.
func (s *stream) appendLocked(outs []outcome) {
	defer func() {
		s.pendingLines = s.pendingLines[:0]
		if cap(s.pendingLines) > keepBuf {
			s.pendingLines = nil
		}
	}()
	if len(s.pendingLines) == 0 {
		return
	}
	size := s.tail.Offset - int64(len(s.pendingLines))
	if s.e.cfg.Sync != SyncEach {
		first := slices.IndexFunc(outs, func(o outcome) bool { return len(o.recs) > 0 })
		if err := s.w.Append(s.pendingLines, size); err != nil {
			s.failFrom(outs, first, err)
			return
		}
		if s.e.cfg.Sync == SyncBatch {
			if err := s.e.commit.sync(s.w); err != nil {
				s.unflushedLocked(outs, first, size, err)
			}
		}
		return
	}
	rest := s.pendingLines
	for i := range outs {
		o := &outs[i]
		if len(o.recs) == 0 {
			continue
		}
		n := 0
		for _, r := range o.recs {
			n += len(r.Event) + 1
		}
		if err := s.w.Append(rest[:n], size); err != nil {
			s.failFrom(outs, i, err)
			return
		}
		if err := s.w.Sync(); err != nil {
			s.unflushedLocked(outs, i, size, err)
			return
		}
		size += int64(n)
		rest = rest[n:]
	}
}

// eventMeta maps the command context onto an event's meta, as eventfold-es
// does: correlation_id, source_device and the metadata keys; plus the
// command_id that makes the command idempotent.
func eventMeta(env record.Envelope) (record.RawMessage, error) {
	c := env.Context
	if c.CorrelationID == "" && c.SourceDevice == "" && len(c.Metadata) == 0 && env.CommandID == "" {
		return nil, nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	put := func(k string, v []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(record.AppendString(nil, k))
		b.WriteByte(':')
		b.Write(v)
	}
	putString := func(k, v string) {
		if v != "" {
			put(k, record.AppendString(nil, v))
		}
	}
	putString("correlation_id", c.CorrelationID)
	putString("source_device", c.SourceDevice)
	keys := make([]string, 0, len(c.Metadata))
	for k := range c.Metadata {
		if k != "correlation_id" && k != "source_device" && k != "command_id" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := c.Metadata[k]
		if !record.Valid(v) {
			return nil, fmt.Errorf("metadata %s is not JSON", record.Quote(k))
		}
		var cb bytes.Buffer
		if err := record.Compact(&cb, v); err != nil {
			return nil, err
		}
		put(k, cb.Bytes())
	}
	putString("command_id", env.CommandID)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// idsOf is the part of an event line the dedup sets need.
type idsOf struct {
	ID   string `json:"id"`
	Meta struct {
		CommandID string `json:"command_id"`
	} `json:"meta"`
}

// noteIDs adds a line's ids to the dedup sets that have been built.
func (s *stream) noteIDs(line []byte) {
	if s.cmdIDs == nil && s.evIDs == nil {
		return
	}
	var x idsOf
	if record.Unmarshal(line, &x) != nil {
		return
	}
	if s.cmdIDs != nil && x.Meta.CommandID != "" {
		s.cmdIDs[x.Meta.CommandID] = struct{}{}
	}
	if s.evIDs != nil && x.ID != "" {
		s.evIDs[x.ID] = struct{}{}
	}
}

// ensureCmdIDs builds the set of command_ids in the stream on first need:
// most runs never send one, and replay should not pay for it.
func (s *stream) ensureCmdIDs() (err error) {
	if s.cmdIDs == nil {
		s.cmdIDs, err = s.collectIDs(func(x idsOf) string { return x.Meta.CommandID })
	}
	return err
}

// ensureEvIDs builds the set of event ids in the stream on first need.
func (s *stream) ensureEvIDs() (err error) {
	if s.evIDs == nil {
		s.evIDs, err = s.collectIDs(func(x idsOf) string { return x.ID })
	}
	return err
}

// collectIDs gathers one kind of id from the log on disk and from the
// lines decided but not yet written; from then on noteIDs keeps the set.
func (s *stream) collectIDs(pick func(idsOf) string) (map[string]struct{}, error) {
	set := make(map[string]struct{})
	add := func(line []byte) {
		var x idsOf
		if record.Unmarshal(line, &x) == nil {
			if id := pick(x); id != "" {
				set[id] = struct{}{}
			}
		}
	}
	if s.w != nil {
		if _, err := s.w.Scan(eventlog.Tail{}, -1, func(en eventlog.Entry) error {
			if en.Err == nil {
				add(en.Line)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read %s: %w", s.w.Name(), err)
		}
	}
	for line := range bytes.SplitSeq(s.pendingLines, []byte{'\n'}) {
		if len(line) > 0 {
			add(line)
		}
	}
	return set, nil
}

// eventLineSize is about the length of ev's line, so that it is built in
// one allocation: the keys and the timestamp, and its parts as given
// (escapes, rare in types and actors, may make it longer).
func eventLineSize(ev record.Event) int {
	return 64 + len(ev.Type) + len(ev.Data) + len(ev.ID) + len(ev.Actor) + len(ev.Meta)
}
