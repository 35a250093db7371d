package consumer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/record"
)

func cfgAt(t *testing.T, mode Mode) Config {
	t.Helper()
	return Config{Dir: filepath.Join(t.TempDir(), "consumers", "c"), Kind: Watch, Name: "c", Mode: mode, LockTimeout: 50 * time.Millisecond}
}

func cp(offset int64) record.Checkpoint {
	return record.Checkpoint{State: record.Null, Cursors: map[string]record.Cursor{"t/a": {Offset: offset, Hash: "h"}}}
}

func open(t *testing.T, cfg Config) *Consumer {
	t.Helper()
	c, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func saved(t *testing.T, cfg Config) int64 {
	t.Helper()
	got, found, err := Saved(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return -1
	}
	return got.Cursors["t/a"].Offset
}

// A Pending consumer moves its checkpoint only when Commit confirms a run
// that ended cleanly; a run after an unconfirmed one starts from the
// checkpoint again.
func TestPendingMovesOnlyOnCommit(t *testing.T) {
	cfg := cfgAt(t, Pending)
	c := open(t, cfg)
	if err := c.Moved(cp(10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(Result{Clean: true, Records: 1}); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != -1 {
		t.Fatalf("checkpoint at %d before any commit", got)
	}
	// Not confirmed: the next run starts from nothing, and drops the
	// pending delivery, so a commit after it fails cannot promote it.
	c = open(t, cfg)
	if len(c.Start().Cursors) != 0 {
		t.Fatalf("second run starts at %v; want the (empty) checkpoint", c.Start().Cursors)
	}
	if err := c.Moved(cp(20)); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(Result{Err: errors.New("output closed")}); err != nil {
		t.Fatal(err)
	}
	if err := Commit(context.Background(), cfg); !errors.Is(err, ErrNothingPending) {
		t.Fatalf("Commit after a failed run = %v; want ErrNothingPending", err)
	}
	c = open(t, cfg)
	_ = c.Moved(cp(30))
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	if err := Commit(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != 30 {
		t.Fatalf("checkpoint at %d after the commit; want 30", got)
	}
	if err := Commit(context.Background(), cfg); !errors.Is(err, ErrNothingPending) {
		t.Fatalf("a second Commit = %v; want ErrNothingPending", err)
	}
	note, err := ReadNote(cfg.Dir)
	if err != nil || note.Delivery != "pending" || note.Confirmed == 0 || note.LastRun == nil || note.LastRun.Outcome != "ok" {
		t.Fatalf("note %+v, %v", note, err)
	}
}

// A Direct consumer saves what it moved to, throttled by SaveEvery, and
// at Close; a broken delivery saves nothing more, and a run stopped before
// moving leaves the checkpoint as it was.
func TestDirectSaves(t *testing.T) {
	cfg := cfgAt(t, Direct)
	cfg.SaveEvery = time.Hour
	c := open(t, cfg)
	_ = c.Moved(cp(10))
	if got := saved(t, cfg); got != -1 {
		t.Fatalf("saved at %d before SaveEvery passed", got)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != 10 {
		t.Fatalf("Save left %d; want 10", got)
	}
	_ = c.Moved(cp(20))
	if err := c.Close(Result{Broken: true}); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != 10 {
		t.Fatalf("a broken run saved %d; want 10 kept", got)
	}
	cfg.Rebuild = Always
	c = open(t, cfg)
	if len(c.Start().Cursors) != 0 || !c.Rebuilt() {
		t.Fatalf("a rebuild starts at %v", c.Start().Cursors)
	}
	if err := c.Close(Result{Err: errors.New("handler failed")}); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != 10 {
		t.Fatalf("a rebuild stopped before moving saved %d; want 10 kept", got)
	}
	c = open(t, cfg)
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	if got := saved(t, cfg); got != 0 {
		t.Fatalf("a finished rebuild of nothing left %d; want the empty checkpoint", got)
	}
}

func TestBusyAndSkip(t *testing.T) {
	cfg := cfgAt(t, Direct)
	c := open(t, cfg)
	defer c.Close(Result{Clean: true})
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), `consumer "c" is in use`) {
		t.Fatalf("second Open = %v; want ErrBusy naming the consumer", err)
	}
	cfg.SkipIfBusy, cfg.LockTimeout = true, time.Hour
	start := time.Now()
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrSkipped) || time.Since(start) > 10*time.Second {
		t.Fatalf("Open with SkipIfBusy = %v after %s; want ErrSkipped at once", err, time.Since(start))
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	cfg := cfgAt(t, Direct)
	cfg.DryRun = true
	c := open(t, cfg)
	_ = c.Moved(cp(10))
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a dry run made %s (%v)", cfg.Dir, err)
	}
}

// The handler's fingerprint: a changed file is warned about once, and
// IfChanged rebuilds until the state is built with the handler in use.
func TestHandlerChange(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "p.jq")
	if err := os.WriteFile(prog, []byte(".state"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := cfgAt(t, Direct)
	cfg.Kind, cfg.Handler = Projection, "jq -c -f '"+prog+"'"
	var log strings.Builder
	cfg.Log = newLog(&log)
	run := func(cfg Config) *Consumer {
		c := open(t, cfg)
		_ = c.Moved(cp(10))
		if err := c.Close(Result{Clean: true}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	run(cfg)
	if log.Len() != 0 {
		t.Fatalf("first run warned: %s", log.String())
	}
	if err := os.WriteFile(prog, []byte(".state # edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(cfg)
	if !strings.Contains(log.String(), `the handler changed since the last run (file "`+prog+`" changed)`) {
		t.Fatalf("no warning naming the file: %q", log.String())
	}
	log.Reset()
	run(cfg)
	if log.Len() != 0 {
		t.Fatalf("warned twice: %s", log.String())
	}
	note, _ := ReadNote(cfg.Dir)
	if note.Stale() == "" {
		t.Fatal("the note does not say the state was built with another handler")
	}
	cfg.Rebuild = IfChanged
	if c := run(cfg); !c.Rebuilt() {
		t.Fatal("IfChanged did not rebuild")
	}
	if c := run(cfg); c.Rebuilt() {
		t.Fatal("IfChanged rebuilt again with the same handler")
	}
	if note, _ := ReadNote(cfg.Dir); note.Stale() != "" {
		t.Fatalf("still stale after the rebuild: %s", note.Stale())
	}
}

func TestFingerprintWords(t *testing.T) {
	for in, want := range map[string]string{
		`jq --unbuffered -c -f 'a b.jq'`: "jq|--unbuffered|-c|-f|a b.jq",
		`sh "x\"y.sh" z\ w`:              `sh|x"y.sh|z w`,
		`  a   b `:                       "a|b",
	} {
		if got := strings.Join(words(in), "|"); got != want {
			t.Errorf("words(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestUnreadableCheckpoint(t *testing.T) {
	cfg := cfgAt(t, Direct)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, checkpoint.FileName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), cfg)
	var bad *checkpoint.BadError
	if !errors.As(err, &bad) {
		t.Fatalf("Open = %v; want a *checkpoint.BadError", err)
	}
	// and the lock was released
	c := open(t, Config{Dir: cfg.Dir, Kind: Watch, Name: "c", Rebuild: Always})
	c.Close(Result{})
}

// A pending delivery of nothing is dropped without a warning: nothing was
// delivered, so nothing is delivered again. One that delivered something
// is warned about.
func TestPendingOfNothingIsNotWarnedAbout(t *testing.T) {
	cfg := cfgAt(t, Pending)
	var log strings.Builder
	cfg.Log = newLog(&log)
	c := open(t, cfg)
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	c = open(t, cfg)
	if log.Len() != 0 {
		t.Fatalf("warned about a delivery of nothing: %s", log.String())
	}
	_ = c.Moved(cp(10))
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	c = open(t, cfg)
	defer c.Close(Result{})
	if !strings.Contains(log.String(), "never confirmed") {
		t.Fatalf("no warning about an unconfirmed delivery: %q", log.String())
	}
}
