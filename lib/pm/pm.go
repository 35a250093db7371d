// Package pm runs process managers (sagas): it feeds event records, one at
// a time, to a process manager's handler (the protocol's "react" op) and
// delivers the commands it returns, either printed as envelopes for a
// fold-exec downstream (Emitter) or run in-process through the command bus
// (Dispatcher).
//
// Delivery is at least once and the effect exactly once. Each command gets
// a command_id derived from the process manager's name, the record it
// reacted to (stream and version) and its index among the commands
// returned for that record (CommandID), so a command delivered again after
// a crash is dropped by the stream it targets. That is why a react request
// carries one record: the commands of a batch of records could not be
// attributed to the record that caused each, and after a crash the same
// records might be batched differently.
//
// The checkpoint (the handler's state and a cursor per stream) is saved
// only after the commands of the records it covers were delivered: flushed
// to the output, or executed and durable. A crash in between makes the
// next run react to those records again and deliver the same commands with
// the same ids. Commands that fail (an unknown aggregate type, a rejection,
// a handler failure, an invalid envelope) become dead letters,
// {"envelope","error","ts"} lines in process_managers/NAME/dead_letters.jsonl,
// which Retry sends again.
package pm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// Feed delivers records in batches, from cursors on (watch.Feed).
type Feed = watch.Feed

// Saver keeps the checkpoint as it moves: a *consumer.Consumer, which
// saves at most so often (or holds a delivery for confirmation), and now
// on Save.
type Saver interface {
	Moved(record.Checkpoint) error
	Save() error
}

// Appender keeps dead letters durably: a Letters file.
type Appender interface {
	Append([]record.DeadLetter) error
}

// Config is how a process manager runs.
type Config struct {
	Name        string
	Types       []string       // subscribed aggregate types; a record of another type is skipped
	Handler     handler.Caller // the process manager's own handler
	Sink        Sink
	Checkpoint  Saver
	DeadLetters Appender // nil: failures are reported (OnDeadLetter), not kept (a dry run)
	// OnDeadLetter is told of each failure once it is a durable dead
	// letter, so the program can report it. It may be nil.
	OnDeadLetter func(Failure)
	Now          func() time.Time // dead letters' ts; time.Now if nil
	Log          *slog.Logger     // nil discards
	// Batch is how many records go in one react request (at most; 0 or
	// 1: one). More than one needs a handler that tags each command with
	// the index of the record that caused it ("record": i), as the Go SDK
	// does: a command's id must come from its own record, whatever the
	// batch, or a crash could give it another id and apply it twice.
	Batch int
}

// Stats counts what a Manager did.
type Stats struct {
	Records     int64 // records reacted to
	Commands    int64 // commands delivered or dead-lettered
	DeadLetters int64
}

// Manager is one process manager's state and cursors, and the loop that
// moves them on. It is not safe for concurrent use.
type Manager struct {
	cfg      Config
	state    record.RawMessage
	cursors  map[string]record.Cursor
	dirty    bool      // reacted to records since the last commit
	broken   bool      // delivery or saving failed: save nothing more
	invalid  []Failure // commands that could not be sent, awaiting the next commit
	stats    Stats
	req      []byte // the react request, reused
	key      []byte // a cursor key being looked up, reused
	actor    string // Actor(cfg.Name), made once
	wantType map[string]bool
}

// New returns a Manager starting from cp, a loaded checkpoint (or
// checkpoint.Empty()); cp's cursors map is taken over.
func New(cfg Config, cp record.Checkpoint) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, state: cp.State, cursors: cp.Cursors, actor: Actor(cfg.Name)}
	if m.state == nil {
		m.state = record.Null
	}
	if m.cursors == nil {
		m.cursors = map[string]record.Cursor{}
	}
	if len(cfg.Types) > 0 {
		m.wantType = make(map[string]bool, len(cfg.Types))
		for _, t := range cfg.Types {
			m.wantType[t] = true
		}
	}
	return m
}

// State is the handler's state as of the last record reacted to.
func (m *Manager) State() record.RawMessage { return m.state }

// Cursors is a copy of the cursors as of the last record reacted to.
func (m *Manager) Cursors() map[string]record.Cursor { return maps.Clone(m.cursors) }

// Stats returns the counts so far.
func (m *Manager) Stats() Stats { return m.stats }

// Broken reports whether delivery or saving failed: what was reacted to
// since the last commit may not have been delivered, and must not be
// saved.
func (m *Manager) Broken() bool { return m.broken }

// ReactError is a record the handler failed to react to. Nothing of it was
// applied: the checkpoint covers the records before it, and the next run
// starts with it.
type ReactError struct {
	Stream  record.StreamID
	Version uint64
	Err     error
}

func (e *ReactError) Error() string {
	return fmt.Sprintf("react to %s version %d: %v", record.Quote(e.Stream.String()), e.Version, e.Err)
}

// Unwrap returns the handler's error.
func (e *ReactError) Unwrap() error { return e.Err }

// Run reacts to the records feed delivers until it ends, delivering each
// batch's commands and then moving the checkpoint (Config.Checkpoint
// saves it at most so often, and after each batch that ends a read). When stop is
// done it finishes the record in hand, delivers the commands so far,
// saves, and returns nil. It returns a *ReactError when the handler failed
// (what came before is saved), and any other error when reading, delivery
// or saving failed (after a failed delivery or save, nothing more is
// saved).
func (m *Manager) Run(stop context.Context, feed Feed) error {
	// Handler calls and dispatches are not cut short by a stop: the record
	// in hand is finished.
	work := context.WithoutCancel(stop)
	err := feed(stop, maps.Clone(m.cursors), func(b watch.Batch) error {
		return m.batch(stop, work, b)
	})
	if !m.broken {
		// Every batch was delivered: what a throttled save left out is
		// saved now, whatever ended the feed.
		if cerr := m.commit(work, true); cerr != nil {
			return cerr
		}
	}
	if err != nil && stop.Err() != nil && errors.Is(err, stop.Err()) {
		return nil
	}
	return err
}

// CatchUp reacts to what src's streams hold now. When the sink runs the
// commands (a *Dispatcher), it catches up again as long as they appended
// events, since those may be ones it reacts to: a saga runs to its end in
// one run.
func (m *Manager) CatchUp(stop context.Context, src *watch.Source) error {
	disp, _ := m.cfg.Sink.(*Dispatcher)
	for {
		var before int64
		if disp != nil {
			before = disp.Appended()
		}
		if err := m.Run(stop, src.CatchUp); err != nil || disp == nil || disp.Appended() == before || stop.Err() != nil {
			return err
		}
		m.cfg.Log.Info("dispatched commands appended events; catching up again", "events", disp.Appended()-before)
	}
}

// batch reacts to b's records, Config.Batch at a time, then commits.
func (m *Manager) batch(stop, work context.Context, b watch.Batch) error {
	var failed error
	size := max(m.cfg.Batch, 1)
	var chunk []record.Record
	for i := 0; i < len(b.Records); {
		if stop.Err() != nil {
			break
		}
		chunk = chunk[:0]
		for ; i < len(b.Records) && len(chunk) < size; i++ {
			if m.wants(b.Records[i]) {
				chunk = append(chunk, b.Records[i])
			}
		}
		if len(chunk) == 0 {
			continue
		}
		if err := m.react(work, chunk); err != nil {
			if _, ok := errors.AsType[*ReactError](err); !ok {
				return err
			}
			failed = err
			break
		}
		if err := m.cfg.Sink.Progress(); err != nil {
			m.broken = true
			return err
		}
	}
	if err := m.commit(work, b.Idle || failed != nil || stop.Err() != nil); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return stop.Err()
}

// wants reports whether rec is for this process manager and new to it: a
// pipe may carry other types, and records its cursors already cover, so
// feeding it the same input twice changes nothing.
func (m *Manager) wants(rec record.Record) bool {
	if m.wantType != nil && !m.wantType[rec.AggregateType] {
		return false
	}
	m.key = append(append(append(m.key[:0], rec.AggregateType...), '/'), rec.InstanceID...)
	c, ok := m.cursors[string(m.key)] // no key string made for a lookup
	return !ok || rec.Offset > c.Offset
}

// react sends records (one, or up to Config.Batch) to the handler and
// hands its commands to the sink.
func (m *Manager) react(ctx context.Context, recs []record.Record) error {
	// handler.React would do, but its encoder re-validates the state and
	// the records, which are valid JSON already.
	m.req = appendReact(m.req[:0], m.cfg.Name, m.state, recs)
	line, err := m.cfg.Handler.Call(ctx, m.req)
	var ans handler.ReactAnswer
	if err == nil {
		if ans, err = handler.ReactAnswerFrom(line); err != nil {
			if e, ok := errors.AsType[*handler.Error](err); ok {
				e.Handler = m.cfg.Handler.Name()
			}
		}
	}
	var sources []int
	if err == nil && len(recs) > 1 {
		sources, err = commandSources(ans.Commands, len(recs))
	}
	if err != nil {
		return &ReactError{Stream: recs[0].Stream(), Version: recs[0].Version, Err: err}
	}
	perRecord := make([]int, len(recs))
	for i, raw := range ans.Commands {
		m.stats.Commands++
		src := 0
		if sources != nil {
			src = sources[i]
		}
		c, err := prepare(m.cfg.Name, m.actor, recs[src], perRecord[src], raw)
		perRecord[src]++
		if err != nil {
			ce, _ := errors.AsType[*CommandError](err)
			m.invalid = append(m.invalid, Failure{Origin: c.Origin, Envelope: raw, Kind: exec.KindInvalid, Err: ce.Err})
			continue
		}
		if err := m.cfg.Sink.Add(ctx, c); err != nil {
			m.broken = true
			return err
		}
	}
	m.state = ans.State
	for _, rec := range recs {
		m.cursors[rec.Stream().String()] = record.Cursor{Offset: rec.Offset, Hash: rec.Hash}
	}
	m.dirty = true
	m.stats.Records += int64(len(recs))
	return nil
}

// commandSources reads the "record" index each command of a batched
// answer carries: which of the n records caused it.
func commandSources(cmds []record.RawMessage, n int) ([]int, error) {
	out := make([]int, len(cmds))
	for i, raw := range cmds {
		var tag struct {
			Record *int `json:"record"`
		}
		if n, ok := plainRecordIndex(raw); ok {
			tag.Record = &n
		} else if err := record.Unmarshal(raw, &tag); err != nil || tag.Record == nil {
			return nil, fmt.Errorf("command %d of a batch of %d records does not say which record caused it (\"record\": index); use --batch 1 with this handler", i+1, n)
		}
		if *tag.Record < 0 || *tag.Record >= n {
			return nil, fmt.Errorf("command %d: \"record\": %d is not an index into the %d records sent", i+1, *tag.Record, n)
		}
		if i > 0 && *tag.Record < out[i-1] {
			return nil, fmt.Errorf("command %d: \"record\": %d comes after commands of record %d; commands must be in record order", i+1, *tag.Record, out[i-1])
		}
		out[i] = *tag.Record
	}
	return out, nil
}

// plainRecordIndex reads a command's "record": a small non-negative
// integer, the one member of that name. Anything else is left to the
// decoder (ok false), which also says what is wrong.
func plainRecordIndex(raw []byte) (n int, ok bool) {
	found := false
	whole := record.Members(raw, func(key, val []byte) bool {
		if string(key) != "record" {
			return true
		}
		if found || len(val) == 0 || len(val) > 9 || (val[0] == '0' && len(val) > 1) {
			return false
		}
		for _, c := range val {
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + int(c-'0')
		}
		found = true
		return true
	})
	return n, whole && found
}

// commit delivers the commands so far, makes their failures durable dead
// letters, and then, only then, moves the checkpoint past them; force
// saves it now.
func (m *Manager) commit(ctx context.Context, force bool) (err error) {
	defer func() {
		if err != nil {
			m.broken = true
		}
	}()
	fs, err := m.cfg.Sink.Flush(ctx)
	if err != nil {
		return err
	}
	if len(m.invalid) > 0 {
		fs = append(m.invalid, fs...)
		m.invalid = nil
	}
	if len(fs) > 0 {
		if m.cfg.DeadLetters != nil {
			now := m.cfg.Now().Unix()
			letters := make([]record.DeadLetter, len(fs))
			for i, f := range fs {
				letters[i] = record.DeadLetter{Envelope: f.Envelope, Error: f.Err.Error(), Ts: now}
			}
			if err := m.cfg.DeadLetters.Append(letters); err != nil {
				return err
			}
		}
		m.stats.DeadLetters += int64(len(fs))
		if m.cfg.OnDeadLetter != nil {
			for _, f := range fs {
				m.cfg.OnDeadLetter(f)
			}
		}
	}
	if m.dirty {
		if err := m.cfg.Checkpoint.Moved(record.Checkpoint{State: m.state, Cursors: m.cursors}); err != nil {
			return err
		}
		m.dirty = false
	}
	if force {
		return m.cfg.Checkpoint.Save()
	}
	return nil
}
