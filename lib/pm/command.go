package pm

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// CommandIDPrefix starts every command_id a process manager gives.
const CommandIDPrefix = "fold-pm:"

// CommandID is the command_id of the index-th command (0-based) that the
// process manager name returned for the record at version of stream src:
// "fold-pm:NAME/TYPE/ID/VERSION/INDEX". Name, type and id are single path
// segments, which hold no "/", so two different origins never give the
// same id. It depends on nothing else, so a crash that makes the process
// manager react to the same record again gives its commands the same ids,
// and fold-exec drops the ones already applied.
func CommandID(name string, src record.StreamID, version uint64, index int) string {
	b := make([]byte, 0, len(CommandIDPrefix)+len(name)+len(src.Type)+len(src.ID)+24)
	b = append(b, CommandIDPrefix...)
	b = append(b, name...)
	b = append(b, '/')
	b = append(b, src.Type...)
	b = append(b, '/')
	b = append(b, src.ID...)
	b = append(b, '/')
	b = strconv.AppendUint(b, version, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(index), 10)
	return string(b)
}

// Actor is the actor a process manager's commands carry when the handler
// names none.
func Actor(name string) string { return CommandIDPrefix + name }

// Origin is where a command came from: the record the process manager
// reacted to and the command's place among those it returned for it.
type Origin struct {
	Stream  record.StreamID
	Version uint64
	Index   int // 0-based
}

// String names the origin as the command_id does: commands are numbered
// from 0, so "command 0" is the one whose id ends in "/0".
func (o Origin) String() string {
	return fmt.Sprintf("%s version %d, command %d", record.Quote(o.Stream.String()), o.Version, o.Index)
}

// Command is one command a process manager returned, made ready to send.
type Command struct {
	Origin   Origin
	Envelope record.Envelope
	Line     []byte // Envelope as one JSON line, without the newline
}

// Prepare turns the index-th command the handler of process manager name
// returned for src into an envelope to send: it must name its aggregate
// type and instance, both single path segments, and hold a command object.
// It gets its deterministic command_id (replacing any the handler set,
// which could not be trusted to be the same after a crash), keeps the
// source event's meta.correlation_id unless it sets its own, and names the
// process manager as its actor unless it names one.
func Prepare(name string, src record.Record, index int, raw record.RawMessage) (Command, error) {
	return prepare(name, Actor(name), src, index, raw)
}

// prepare is Prepare with the actor made once per process manager, not per
// command.
func prepare(name, actor string, src record.Record, index int, raw record.RawMessage) (Command, error) {
	env, ok := plainEnvelope(raw)
	if !ok {
		var err error
		if env, err = record.ParseEnvelope(raw, record.EnvelopeDefaults{}); err != nil {
			origin := Origin{Stream: src.Stream(), Version: src.Version, Index: index}
			return Command{Origin: origin}, &CommandError{Origin: origin, Input: raw, Err: err}
		}
	}
	return prepareEnvelope(name, actor, src, index, raw, env)
}

// prepareEnvelope makes env, read from raw, ready to send.
func prepareEnvelope(name, actor string, src record.Record, index int, raw record.RawMessage, env record.Envelope) (Command, error) {
	origin := Origin{Stream: src.Stream(), Version: src.Version, Index: index}
	if err := store.CheckStream(record.StreamID{Type: env.AggregateType, ID: env.InstanceID}); err != nil {
		return Command{Origin: origin}, &CommandError{Origin: origin, Input: raw, Err: err}
	}
	env.CommandID = CommandID(name, origin.Stream, origin.Version, index)
	if env.Context.CorrelationID == "" {
		env.Context.CorrelationID = correlationID(src.Event)
	}
	if env.Context.Actor == "" {
		env.Context.Actor = actor
	}
	return Command{Origin: origin, Envelope: env, Line: appendEnvelope(nil, env)}, nil
}

// plainEnvelope reads the envelope a handler usually returns, in one pass
// over its members: aggregate_type and instance_id as plain strings, a
// command object, perhaps an empty context and a command_id (replaced anyway) and the "record"
// index of a batched answer. Anything else (a context with members, an expected
// version, an escaped or unknown key, a repeated one, text that
// CheckText would look at) is left to record.ParseEnvelope, which gives
// the same envelope or says what is wrong: ok is false then. raw is valid
// JSON, taken from a decoded answer.
func plainEnvelope(raw []byte) (env record.Envelope, ok bool) {
	if !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\u`)) {
		return env, false
	}
	var seen [4]bool
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	ok = record.Members(raw, func(key, val []byte) bool {
		switch string(key) {
		case "aggregate_type":
			env.AggregateType, ok = record.PlainString(val)
			return ok && once(0)
		case "instance_id":
			env.InstanceID, ok = record.PlainString(val)
			return ok && once(1)
		case "command":
			env.Command = val
			return record.IsObject(val) && once(2)
		case "context": // the Go SDK's envelopes carry an empty one
			return emptyObject(val)
		case "command_id":
			return len(val) > 0 && val[0] == '"' && once(3)
		case "record":
			return true // read by commandSources
		}
		return false
	})
	return env, ok && env.AggregateType != "" && env.InstanceID != "" && env.Command != nil
}

// emptyObject reports whether the raw JSON value v is {}.
func emptyObject(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) >= 2 && v[0] == '{' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

// correlationID is the event line's meta.correlation_id, or "" when it has
// none (or one that is not a string: nothing to carry on).
func correlationID(event record.RawMessage) string {
	if !bytes.Contains(event, []byte(`"correlation_id"`)) {
		return "" // most events: no need to decode
	}
	var ev struct {
		Meta struct {
			CorrelationID any `json:"correlation_id"`
		} `json:"meta"`
	}
	if record.Unmarshal(event, &ev) != nil {
		return ""
	}
	s, _ := ev.Meta.CorrelationID.(string)
	return s
}

// CommandError is a command the handler returned that cannot be sent: it
// is dead-lettered as it was returned.
type CommandError struct {
	Origin Origin
	Input  record.RawMessage
	Err    error
}

func (e *CommandError) Error() string { return e.Origin.String() + ": " + e.Err.Error() }

// Unwrap returns the reason, often a *record.InvalidError.
func (e *CommandError) Unwrap() error { return e.Err }
