// Package consumer is the life of a durable consumer of the store: a
// projection (projections/NAME), a process manager (process_managers/NAME)
// or a fold-watch checkpoint (consumers/NAME). Every program that consumes
// goes through the same steps, and they are here: take the name's lock,
// load where it got to, deliver, have what was delivered confirmed, save,
// and leave a note of the run (consumer.json) for whoever asks how far
// behind it is.
//
// What moves the checkpoint depends on who does the work. A consumer that
// does it itself (a projection applying records, a process manager running
// its commands in-process, a downstream that confirms each batch by
// exiting 0) saves as it goes: Direct. A consumer whose output goes into a
// pipe cannot know what its reader took, since writing into the pipe's
// buffer is not a confirmation: Pending. Such a run ends by leaving what it
// delivered as a pending checkpoint (pending.json, in the checkpoint's
// format), and only Commit, run once the downstream succeeded, promotes it.
// A run that finds a pending delivery nobody confirmed starts again from the
// checkpoint: delivery is at least once, and what was sent again is the
// downstream's to recognise (a record's stream and version, a command's
// command_id).
package consumer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/vfs"
)

// Kind is what sort of consumer a name belongs to; each has a directory
// of its own in the root, so the same name may be used by one of each.
type Kind string

const (
	Projection     Kind = "projection"      // fold-project: projections/NAME
	ProcessManager Kind = "process_manager" // fold-pm: process_managers/NAME
	Watch          Kind = "consumer"        // fold-watch --checkpoint: consumers/NAME
)

// Kinds lists every kind, in the order listings show them.
var Kinds = []Kind{Projection, ProcessManager, Watch}

// Dir is where a consumer of kind keeps its files in root.
func Dir(root store.Root, kind Kind, name string) string {
	switch kind {
	case Projection:
		return root.ProjectionDir(name)
	case ProcessManager:
		return root.ProcessManagerDir(name)
	}
	return root.ConsumerDir(name)
}

// Mode says what moves the checkpoint.
type Mode int

const (
	// Direct: what the run saves is done, so every save moves the
	// checkpoint.
	Direct Mode = iota
	// Pending: what the run delivered awaits a confirmation. A run that
	// ended cleanly leaves it in pending.json; Commit promotes it.
	Pending
)

// Rebuild says whether a run starts over from nothing.
type Rebuild int

const (
	Resume    Rebuild = iota // continue from the checkpoint; a changed handler is warned about
	Always                   // start over (--rebuild)
	IfChanged                // start over when the handler changed since the last rebuild (--rebuild=auto)
)

// PendingFile is the name of a delivery awaiting confirmation, beside the
// checkpoint.
const PendingFile = "pending.json"

// Errors a caller branches on.
var (
	// ErrBusy: another run holds the name for longer than the caller was
	// willing to wait. Retryable.
	ErrBusy = checkpoint.ErrBusy
	// ErrSkipped: another run holds the name and the caller asked not to
	// wait (Config.SkipIfBusy).
	ErrSkipped = errors.New("another run holds the name")
	// ErrNothingPending: Commit found no finished delivery to confirm.
	ErrNothingPending = errors.New("nothing to confirm")
)

// Config is how a consumer runs.
type Config struct {
	Dir  string // Dir(root, Kind, Name)
	Kind Kind
	Name string
	Mode Mode
	// Out is where a Pending consumer's output goes: before a run that
	// ended cleanly leaves its delivery pending, Close waits for the
	// reader to take all of it (Pipe.Drained).
	Out         Downstream
	LockTimeout time.Duration
	SkipIfBusy  bool // a held name is ErrSkipped at once, rather than waited for
	Rebuild     Rebuild
	// Handler is the command line of the handler that makes the state
	// (a projection's, a process manager's): its fingerprint is kept, so
	// a run with another handler, or a handler file that changed, is
	// noticed. Empty for none.
	Handler string
	// Subscribe and Streams are what the consumer reads (every stream when
	// both are empty), kept in its note so a listing can tell how far
	// behind it is.
	Subscribe []string
	Streams   []record.StreamID
	// DryRun reads where the consumer got to without taking its lock and
	// never writes: what a run would do, shown.
	DryRun bool
	// SaveEvery bounds how often Moved saves while records keep coming (a
	// save rewrites and fsyncs the file); zero saves every time.
	SaveEvery time.Duration
	Log       *slog.Logger
	Now       func() time.Time // time.Now if nil
}

// Consumer is one run of a consumer, holding its name's lock from Open to
// Close. It is not safe for concurrent use.
type Consumer struct {
	cfg     Config
	file    checkpoint.File
	unlock  func() error
	start   record.Checkpoint
	latest  record.Checkpoint // as last given to Moved
	dirty   bool              // latest is not saved
	moved   bool              // Moved was called
	handler Fingerprint       // of this run's handler
	saved   time.Time
	rebuilt bool
	note    Note
	began   time.Time
	sum     string    // checkpoint.Sum of checkpoint.json as it is on disk
	checked time.Time // when the loaded cursors were last found to match the logs; zero: not known
	caught  time.Time // this run's: see CaughtUp
}

// Open takes the consumer's lock (waiting up to LockTimeout, then
// ErrBusy, or ErrSkipped at once with SkipIfBusy), loads its checkpoint and
// note, and drops a pending delivery nobody confirmed (delivered again from
// the checkpoint). With a Rebuild it starts from nothing. The returned
// error wraps ctx.Err() when ctx ends the wait.
func Open(ctx context.Context, cfg Config) (*Consumer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{cfg: cfg, file: checkpoint.At(cfg.Dir), began: cfg.Now()}
	if cfg.DryRun {
		c.unlock = func() error { return nil }
		return c, c.load()
	}
	unlock, err := Lock(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.unlock = unlock
	if err := c.load(); err != nil {
		_ = unlock()
		return nil, err
	}
	return c, nil
}

func (c *Consumer) load() error {
	note, err := ReadNote(c.cfg.Dir)
	if err != nil {
		c.cfg.Log.Warn("ignoring the consumer's note", "err", err)
	}
	c.note = note
	if !c.cfg.DryRun {
		if err := c.dropPending(); err != nil {
			return err
		}
	}
	c.rebuilt = c.cfg.Rebuild == Always
	if c.cfg.Handler != "" {
		c.handler = FingerprintOf(c.cfg.Handler)
		c.checkHandler(c.handler)
	}
	cp := checkpoint.Empty()
	if !c.rebuilt {
		var found bool
		if cp, c.sum, found, err = c.file.LoadSum(); err != nil {
			return err
		}
		if !found {
			c.rebuilt = true // a first run builds from nothing too
		}
		c.checked = c.vouched()
	}
	c.start, c.latest = cp, cp
	c.saved = c.cfg.Now()
	c.cfg.Log.Debug("consumer opened", "kind", string(c.cfg.Kind), "name", c.cfg.Name, "cursors", len(cp.Cursors), "rebuild", c.rebuilt, "dry_run", c.cfg.DryRun)
	// A rebuild must be saved even if it delivers nothing: the old
	// checkpoint no longer stands.
	c.dirty = c.rebuilt
	return nil
}

// vouched is when the note says the checkpoint just loaded was last
// found to match the logs: only for this very checkpoint (its sum), read
// with the same selection, in Direct mode (a Pending consumer's
// checkpoint is not what its runs read up to).
func (c *Consumer) vouched() time.Time {
	n := c.note.Checked
	if n == nil || c.sum == "" || n.Checkpoint != c.sum || c.cfg.Mode != Direct ||
		!slices.Equal(c.note.Subscribe, c.cfg.Subscribe) || !slices.Equal(c.note.Streams, streamNames(c.cfg.Streams)) {
		return time.Time{}
	}
	return time.Unix(0, n.At)
}

// checkHandler compares the handler with the one the state was built with
// and decides on a rebuild.
func (c *Consumer) checkHandler(fp Fingerprint) {
	switch c.cfg.Rebuild {
	case Always:
		return
	case IfChanged:
		if c.note.BuiltWith.Command != "" {
			if d := fp.Diff(c.note.BuiltWith); d != "" {
				c.cfg.Log.Warn(fmt.Sprintf("%s %s: the handler changed since the last rebuild (%s): rebuilding", c.cfg.Kind.Title(), record.Quote(c.cfg.Name), d))
				c.rebuilt = true
			}
		}
		return
	}
	// Told once, when it changes: the note then holds the new handler, and
	// a listing still shows that the state was built with another.
	if c.note.Handler.Command != "" {
		if d := fp.Diff(c.note.Handler); d != "" {
			c.cfg.Log.Warn(fmt.Sprintf("%s %s: the handler changed since the last run (%s); the state so far was made by the old one", c.cfg.Kind.Title(), record.Quote(c.cfg.Name), d),
				"hint", "--rebuild replays every record through the new handler; --rebuild=auto does so whenever it changes")
		}
	}
}

// dropPending removes a delivery that was never confirmed: this run
// delivers it again, and a Commit after a run that fails must not promote
// an older run's delivery.
func (c *Consumer) dropPending() error {
	path := filepath.Join(c.cfg.Dir, PendingFile)
	pending, found, err := checkpoint.File{Path: path}.Load()
	if !found && err == nil {
		return nil
	}
	// A delivery of nothing (the same cursors and state as the checkpoint)
	// loses nothing by being dropped: no need to say so.
	if saved, _, serr := c.file.Load(); err != nil || serr != nil || !sameCheckpoint(pending, saved) {
		c.cfg.Log.Warn(fmt.Sprintf("%s %s: what an earlier run delivered was never confirmed: delivering it again", c.cfg.Kind.Title(), record.Quote(c.cfg.Name)),
			"hint", c.cfg.Kind.commitHint(c.cfg.Name))
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("drop the unconfirmed delivery: %w", err)
	}
	return vfs.OS.SyncDir(c.cfg.Dir)
}

// Start is where this run starts: the checkpoint, or nothing after a
// rebuild. Its cursors map is the caller's to keep and move.
func (c *Consumer) Start() record.Checkpoint { return c.start }

// Checked is when the cursors of Start were last found to match their
// logs, for watch.Source.Checked; zero when that is not known (a first
// run, a rebuild, a checkpoint written by another program or copied in,
// another selection of streams).
func (c *Consumer) Checked() time.Time { return c.checked }

// CaughtUp records that this run found every cursor it holds matching
// its log at or after since (its catch-up reached the end of every log it
// reads): the note then vouches for the checkpoint saved at Close, so the
// next run can skip logs unchanged since.
func (c *Consumer) CaughtUp(since time.Time) {
	if c.caught.IsZero() {
		c.caught = since
	}
}

// Rebuilt reports whether this run started from nothing (a rebuild, or the
// first run of the name).
func (c *Consumer) Rebuilt() bool { return c.rebuilt }

// Moved records that the consumer got to cp: its state and cursors after
// what it applied or delivered. In Direct mode cp is saved once SaveEvery
// has passed since the last save (Save saves it now); a Pending consumer
// keeps it for Close. cp is read when it is saved, so its maps must not
// change until the next Moved.
func (c *Consumer) Moved(cp record.Checkpoint) error {
	c.latest, c.dirty, c.moved = cp, true, true
	if c.cfg.Mode == Pending || c.cfg.Now().Sub(c.saved) < c.cfg.SaveEvery {
		return nil
	}
	return c.Save()
}

// Save saves what Moved last gave, if not saved yet (Direct mode; a
// Pending consumer saves only in Close).
func (c *Consumer) Save() error {
	if !c.dirty || c.cfg.Mode == Pending || c.cfg.DryRun {
		return nil
	}
	sum, err := c.file.SaveSum(c.latest)
	if err != nil {
		c.sum = "" // the file may be either: vouch for neither
		return err
	}
	c.sum = sum
	c.cfg.Log.Debug("checkpoint saved", "name", c.cfg.Name, "cursors", len(c.latest.Cursors))
	c.dirty, c.saved = false, c.cfg.Now()
	return nil
}

// Result is how a run ended, for Close.
type Result struct {
	// Clean: everything written was handed over whole (the input ended, or
	// the run was stopped by a signal), so a Pending delivery may be
	// confirmed. A reader that went away, or a failure, is not clean.
	Clean   bool
	Records int64 // records applied or delivered by this run
	Err     error // what ended the run, when it was not a clean end
	// Broken: delivery itself failed, so what was moved since the last
	// save may not have been delivered: nothing more is saved.
	Broken bool
}

// Close ends the run: a Direct consumer saves what it got to, a Pending one
// that ended cleanly leaves its delivery in pending.json for Commit; the
// note is updated and the lock released. The first error is returned.
func (c *Consumer) Close(res Result) error {
	if c.cfg.DryRun {
		return nil
	}
	var err error
	if d, ok := c.cfg.Out.(interface{ Drained() error }); ok && c.cfg.Mode == Pending && res.Clean {
		if derr := d.Drained(); derr != nil {
			c.cfg.Log.Warn(fmt.Sprintf("%s %s: %v: what was delivered is not confirmed", c.cfg.Kind.Title(), record.Quote(c.cfg.Name), derr))
			res.Clean, res.Err = false, derr
		}
	}
	switch {
	case res.Broken:
	case !res.Clean && !c.moved:
		// Stopped before doing anything: a rebuild that never started
		// leaves the old checkpoint standing.
	case c.cfg.Mode == Pending:
		if res.Clean {
			err = checkpoint.File{Path: filepath.Join(c.cfg.Dir, PendingFile)}.Save(c.latest)
		}
	default:
		err = c.Save()
	}
	if c.moved || res.Clean {
		// A run that changed nothing and failed (a handler that failed
		// at once) leaves the note's handler as it was.
		c.note.Handler = c.handler
		if c.rebuilt || c.note.BuiltWith.Command == "" {
			// A checkpoint from before notes were kept is taken as made
			// by the handler it is run with now.
			c.note.BuiltWith = c.handler
		}
	}
	c.note.record(c.cfg, c.began, c.cfg.Now(), res)
	c.note.Checked = nil
	if err == nil && !c.caught.IsZero() && !c.dirty && c.sum != "" && c.cfg.Mode == Direct && !res.Broken {
		c.note.Checked = &CheckedNote{At: c.caught.UnixNano(), Checkpoint: c.sum}
	}
	if err == nil {
		err = writeNote(c.cfg.Dir, c.note)
	}
	if uerr := c.unlock(); err == nil && uerr != nil {
		err = fmt.Errorf("unlock: %w", uerr)
	}
	return err
}

// Commit confirms the delivery the last run of a Pending consumer left:
// its pending checkpoint replaces the checkpoint. It takes the lock as
// Open does (cfg's Dir, Kind, Name, LockTimeout, SkipIfBusy matter), and
// returns an error wrapping ErrNothingPending when there is no finished
// delivery to confirm (the last run failed, was killed, or was confirmed
// already): nothing is lost then, the next run delivers it again.
func Commit(ctx context.Context, cfg Config) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	unlock, err := Lock(ctx, cfg)
	if err != nil {
		return err
	}
	defer unlock()
	f := checkpoint.At(cfg.Dir)
	pending := filepath.Join(cfg.Dir, PendingFile)
	if _, err := os.Stat(pending); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %s: %w: no run delivered anything since the last confirmation, or the last run did not finish", cfg.Kind.Title(), record.Quote(cfg.Name), ErrNothingPending)
	}
	if err := os.Rename(pending, f.Path); err != nil {
		return fmt.Errorf("confirm the delivery: %w", err)
	}
	if err := vfs.OS.SyncDir(cfg.Dir); err != nil {
		return err
	}
	note, err := ReadNote(cfg.Dir)
	if err != nil {
		return nil // the note is for listings; the confirmation stands
	}
	note.Confirmed = cfg.Now().Unix()
	return writeNote(cfg.Dir, note)
}

// Title names the kind in messages.
func (k Kind) Title() string {
	switch k {
	case Projection:
		return "projection"
	case ProcessManager:
		return "process manager"
	}
	return "consumer"
}

// commitHint says how a delivery of this kind is confirmed.
func (k Kind) commitHint(name string) string {
	switch k {
	case ProcessManager:
		return "confirm a run whose commands were executed with: fold-pm --name " + name + " --commit (or use --exec CMD, or --dispatch)"
	case Watch:
		return "confirm a run whose records were handled with: fold-watch --checkpoint " + name + " --commit (or use --exec CMD)"
	}
	return ""
}

// Lock takes the consumer's lock alone, as Open does, for work on its
// other files (a process manager's dead letters) while no run of it goes
// on.
func Lock(ctx context.Context, cfg Config) (unlock func() error, err error) {
	timeout := cfg.LockTimeout
	if cfg.SkipIfBusy {
		timeout = 0
	}
	unlock, err = checkpoint.At(cfg.Dir).Lock(ctx, timeout)
	switch {
	case err == nil:
		return unlock, nil
	case cfg.SkipIfBusy && errors.Is(err, ErrBusy):
		return nil, fmt.Errorf("%s %s: %w", cfg.Kind.Title(), record.Quote(cfg.Name), ErrSkipped)
	case errors.Is(err, ErrBusy):
		return nil, fmt.Errorf("%s %s is in use: %w", cfg.Kind.Title(), record.Quote(cfg.Name), err)
	}
	return nil, fmt.Errorf("%s %s: %w", cfg.Kind.Title(), record.Quote(cfg.Name), err)
}

// Saved reads the checkpoint in dir without taking the lock (what
// fold-project --show prints); found is false when none was ever saved.
func Saved(dir string) (cp record.Checkpoint, found bool, err error) {
	return checkpoint.At(dir).Load()
}

// sameCheckpoint reports whether two checkpoints say the same: state and
// cursors.
func sameCheckpoint(a, b record.Checkpoint) bool {
	return bytes.Equal(a.State, b.State) && maps.Equal(a.Cursors, b.Cursors)
}
