// Package record defines what flows between fold's programs and what is
// stored in an event log: command envelopes, event lines, event records and
// error records, with the JSON codec they share. It is the only package that
// imports the JSON library, so the codec can change in one place.
package record

import (
	stdjson "encoding/json"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// RawMessage is a raw encoded JSON value, kept byte for byte.
type RawMessage = stdjson.RawMessage

// Null is the JSON literal null.
var Null = RawMessage("null")

// Event is one line of an event log, in eventfold's field order: type, data,
// ts, then id, actor and meta when present. Data is null when absent.
type Event struct {
	Type  string     `json:"type"`
	Data  RawMessage `json:"data"`
	Ts    int64      `json:"ts"`
	ID    string     `json:"id,omitempty"`
	Actor string     `json:"actor,omitempty"`
	Meta  RawMessage `json:"meta,omitempty"`

	// Line is the event as read, when it came whole (ParseInject): a
	// relay stores it byte for byte, so it keeps its source's hash.
	Line RawMessage `json:"-"`
}

// Context is the eventfold-es CommandContext carried by an envelope.
type Context struct {
	Actor         string                `json:"actor,omitempty"`
	CorrelationID string                `json:"correlation_id,omitempty"`
	Metadata      map[string]RawMessage `json:"metadata,omitempty"`
	SourceDevice  string                `json:"source_device,omitempty"`
}

// IsZero reports whether the context carries nothing.
func (c Context) IsZero() bool {
	return c.Actor == "" && c.CorrelationID == "" && len(c.Metadata) == 0 && c.SourceDevice == ""
}

// Envelope is a command addressed to one aggregate instance.
type Envelope struct {
	AggregateType   string     `json:"aggregate_type"`
	InstanceID      string     `json:"instance_id"`
	Command         RawMessage `json:"command"`
	Context         Context    `json:"context"`
	CommandID       string     `json:"command_id,omitempty"`
	ExpectedVersion *uint64    `json:"expected_version,omitempty"`
}

// Record is an event as programs print and read it: the stored line with its
// stream, its 1-based version and the cursor just past it.
type Record struct {
	AggregateType string     `json:"aggregate_type"`
	InstanceID    string     `json:"instance_id"`
	Version       uint64     `json:"version"`
	Offset        int64      `json:"offset"`
	Hash          string     `json:"hash"`
	Event         RawMessage `json:"event"`
}

// Stream names a stream: the cursor key "<type>/<id>" in checkpoints.
func (r Record) Stream() StreamID { return StreamID{Type: r.AggregateType, ID: r.InstanceID} }

// StreamID names one aggregate instance's stream.
type StreamID struct {
	Type string
	ID   string
}

// String returns the cursor key "<type>/<id>".
func (s StreamID) String() string { return s.Type + "/" + s.ID }

// Cursor is a position in a stream: the offset just past a line and that
// line's hash. The zero Cursor is the start of the stream.
type Cursor struct {
	Offset int64  `json:"offset"`
	Hash   string `json:"hash"`
}

// Hash returns the line hash fold and eventfold use: xxh64 with seed 0 of the
// line without its newline, as 16 lowercase hex digits.
func Hash(line []byte) string {
	return HashString(xxhash.Sum64(line))
}

// HashString formats a 64-bit hash as 16 lowercase hex digits.
func HashString(h uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[h&0xf]
		h >>= 4
	}
	return string(b[:])
}

// Inject is an input line of fold-exec --inject: an event for a stream. A
// full Record is accepted too; its version, offset and hash are ignored.
type Inject struct {
	AggregateType string     `json:"aggregate_type"`
	InstanceID    string     `json:"instance_id"`
	Event         RawMessage `json:"event"`
}

// Snapshot is views/state.snapshot.json. Version is absent in snapshots
// written by eventfold-es; it is then derived from the log.
type Snapshot struct {
	State   RawMessage `json:"state"`
	Offset  int64      `json:"offset"`
	Hash    string     `json:"hash"`
	Version *uint64    `json:"version,omitempty"`
}

// RegistryEntry is one line of meta/streams.jsonl. Its keys are written in
// sorted order, as eventfold-es does.
type RegistryEntry struct {
	ID   string `json:"id"`
	Ts   int64  `json:"ts"`
	Type string `json:"type"`
}

// Checkpoint is a projection's or process manager's saved position, in the
// eventfold-es format.
type Checkpoint struct {
	State   RawMessage        `json:"state"`
	Cursors map[string]Cursor `json:"cursors"`
}

// DeadLetter is one line of a dead-letter file.
type DeadLetter struct {
	Envelope RawMessage `json:"envelope"`
	Error    string     `json:"error"`
	Ts       int64      `json:"ts"`
}

// ErrorRecord is one failed input line reported with --errors json.
type ErrorRecord struct {
	Kind    string     `json:"kind"`
	Message string     `json:"message"`
	Line    int64      `json:"line"`
	File    string     `json:"file,omitempty"` // the input file, when the line came from one
	Input   RawMessage `json:"input"`
}

// InputValue returns line as it should appear in an error record's input:
// the JSON value itself when the line parses, else the line as a string
// (so that what is not text, CheckText, does not make the error record
// unreadable too).
func InputValue(line []byte) RawMessage {
	if Valid(line) && CheckText(line) == nil {
		return RawMessage(append([]byte(nil), line...))
	}
	b, err := Marshal(string(line))
	if err != nil {
		return Null
	}
	return b
}

// Quote renders a value the way diagnostics quote it: a Go-quoted string.
func Quote(s string) string { return fmt.Sprintf("%q", s) }
