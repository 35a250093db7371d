package consumer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// NoteFile is the name of a consumer's note, beside its checkpoint.
const NoteFile = "consumer.json"

// Note is consumer.json: what a listing needs to know of a consumer that
// its checkpoint (kept in the eventfold-es format, which has no room for
// it) does not say. It is rewritten at the end of each run. A consumer
// without one (written by eventfold-es, or by an older fold) still works;
// a listing then knows less about it.
type Note struct {
	Kind      Kind     `json:"kind"`
	Name      string   `json:"name"`
	Subscribe []string `json:"subscribe,omitempty"` // aggregate types read; none: every type
	Streams   []string `json:"streams,omitempty"`   // "type/id" streams read
	Delivery  string   `json:"delivery"`            // "direct" or "pending" (confirmed by --commit)
	// Handler is the handler of the last run; BuiltWith the one the state
	// was built with from nothing. They differ when a run went on with a
	// changed handler.
	Handler   Fingerprint `json:"handler"`
	BuiltWith Fingerprint `json:"built_with"`
	LastRun   *RunNote    `json:"last_run,omitempty"`
	// Checked vouches for the checkpoint beside the note (see Checked).
	Checked   *CheckedNote `json:"checked,omitempty"`
	Confirmed int64        `json:"confirmed,omitempty"` // the last --commit, Unix seconds
}

// RunNote is what the note says of the last run.
type RunNote struct {
	Started int64  `json:"started"` // Unix seconds
	Ended   int64  `json:"ended"`
	Records int64  `json:"records"`
	Outcome string `json:"outcome"` // "ok", or why it ended early
}

// CheckedNote says that every cursor of the checkpoint whose Sum is
// Checkpoint was found to match its log at or after At (Unix
// nanoseconds), by a run that read Subscribe and Streams (the note's):
// the next run need not open a log that has not changed since (see
// watch.Source.Checked). A checkpoint put in its place has another sum,
// and is checked log by log.
type CheckedNote struct {
	At         int64  `json:"at"`
	Checkpoint string `json:"checkpoint"` // checkpoint.Sum of checkpoint.json
}

// Stale reports why the state no longer matches the handler ("" when it
// does, or when nothing is known).
func (n Note) Stale() string {
	if n.Handler.Command == "" || n.BuiltWith.Command == "" {
		return ""
	}
	return n.Handler.Diff(n.BuiltWith)
}

// record updates the note with the run that ends now.
func (n *Note) record(cfg Config, began, ended time.Time, res Result) {
	n.Kind, n.Name, n.Subscribe = cfg.Kind, cfg.Name, cfg.Subscribe
	n.Streams = streamNames(cfg.Streams)
	n.Delivery = "direct"
	if cfg.Mode == Pending {
		n.Delivery = "pending"
	}
	outcome := "ok"
	switch {
	case res.Err != nil:
		outcome = res.Err.Error()
	case !res.Clean:
		outcome = "stopped before its output was read"
	}
	n.LastRun = &RunNote{Started: began.Unix(), Ended: ended.Unix(), Records: res.Records, Outcome: outcome}
}

// streamNames is ids as "type/id" names, nil for none.
func streamNames(ids []record.StreamID) []string {
	var names []string
	for _, id := range ids {
		names = append(names, id.String())
	}
	return names
}

// ReadNote reads the note in dir; a missing note is an empty one.
func ReadNote(dir string) (Note, error) {
	var n Note
	data, err := os.ReadFile(filepath.Join(dir, NoteFile))
	if errors.Is(err, os.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("read note: %w", err)
	}
	if err := record.Unmarshal(data, &n); err != nil {
		return Note{}, fmt.Errorf("note %s is not readable: %w", record.Quote(filepath.Join(dir, NoteFile)), err)
	}
	return n, nil
}

func writeNote(dir string, n Note) error {
	data, err := record.MarshalIndent(n)
	if err != nil {
		return fmt.Errorf("encode note: %w", err)
	}
	return store.WriteFileAtomic(filepath.Join(dir, NoteFile), append(data, '\n'), true)
}
