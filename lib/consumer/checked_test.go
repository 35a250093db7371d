package consumer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/checkpoint"
)

// run opens cfg, moves to cp(offset) (none when offset < 0), reports a
// catch-up at since (none when zero) and closes cleanly; it returns what
// the run was given as Checked.
func checkedRun(t *testing.T, cfg Config, offset int64, since time.Time) time.Time {
	t.Helper()
	c := open(t, cfg)
	got := c.Checked()
	if offset >= 0 {
		if err := c.Moved(cp(offset)); err != nil {
			t.Fatal(err)
		}
	}
	if !since.IsZero() {
		c.CaughtUp(since)
	}
	if err := c.Close(Result{Clean: true}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCheckedVouchesForItsOwnCheckpointOnly(t *testing.T) {
	cfg := cfgAt(t, Direct)
	cfg.Kind, cfg.Subscribe = Projection, []string{"t"}
	t1 := time.Unix(1_800_000_000, 5)
	if got := checkedRun(t, cfg, 10, t1); !got.IsZero() {
		t.Fatalf("a first run is given Checked %v; want zero", got)
	}
	// The next run is told when the checkpoint it loads was checked; a
	// run with nothing new (no Moved) keeps the file and moves the time.
	t2 := t1.Add(time.Minute)
	if got := checkedRun(t, cfg, -1, t2); !got.Equal(t1) {
		t.Fatalf("Checked = %v; want %v", got, t1)
	}
	if got := checkedRun(t, cfg, -1, time.Time{}); !got.Equal(t2) {
		t.Fatalf("Checked after a no-op run = %v; want %v", got, t2)
	}
	// That run never caught up (stopped, failed): nothing is vouched for.
	if got := checkedRun(t, cfg, -1, t2); !got.IsZero() {
		t.Fatalf("Checked after a run that did not catch up = %v; want zero", got)
	}
	checkedRun(t, cfg, 20, t2)

	// Another checkpoint put in its place (copied in, written by
	// eventfold-es): its cursors were never checked here.
	other := cfgAt(t, Direct)
	if err := (checkpoint.At(other.Dir)).Save(cp(30)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(other.Dir, checkpoint.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, checkpoint.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := checkedRun(t, cfg, -1, t2); !got.IsZero() {
		t.Fatalf("Checked for a checkpoint copied in = %v; want zero", got)
	}

	// Another selection: the cursors of the streams it adds were not
	// checked by the last run.
	wider := cfg
	wider.Subscribe = []string{"t", "u"}
	checkedRun(t, cfg, 40, t2)
	if got := checkedRun(t, wider, -1, t2); !got.IsZero() {
		t.Fatalf("Checked for another selection = %v; want zero", got)
	}

	// A rebuild starts from nothing.
	checkedRun(t, cfg, 50, t2)
	rebuild := cfg
	rebuild.Rebuild = Always
	if got := checkedRun(t, rebuild, -1, t2); !got.IsZero() {
		t.Fatalf("Checked for a rebuild = %v; want zero", got)
	}
}

func TestCheckedNotForPending(t *testing.T) {
	cfg := cfgAt(t, Pending)
	checkedRun(t, cfg, 10, time.Unix(1_800_000_000, 0))
	if err := Commit(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := checkedRun(t, cfg, -1, time.Unix(1_800_000_000, 0)); !got.IsZero() {
		t.Fatalf("a Pending consumer is given Checked %v; want zero", got)
	}
}
