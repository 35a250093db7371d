package consumer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

func TestExecConfirmsOnExitZero(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	var stdout bytes.Buffer
	x := &Exec{Command: "cat >>'" + out + "'; echo done", Stdout: &stdout}
	for _, batch := range []string{"a\nb\n", "c\n"} {
		if _, err := x.Write([]byte(batch)); err != nil {
			t.Fatal(err)
		}
		if err := x.Confirm(); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Confirm(); err != nil { // nothing written: nothing to run
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "a\nb\nc\n" || stdout.String() != "done\ndone\n" {
		t.Fatalf("the command got %q and printed %q; want one run per batch", got, stdout.String())
	}
}

func TestExecFailures(t *testing.T) {
	for _, tc := range []struct {
		cmd       string
		want      string
		retryable bool
	}{
		{"cat >/dev/null; exit 1", `--exec "cat >/dev/null; exit 1" exited with status 1: a batch of 2 line(s) was not confirmed`, false},
		{"cat >/dev/null; exit 75", "exited with status 75", true},
		{"cat >/dev/null; kill -9 $$", "signal: killed", false},
	} {
		x := &Exec{Command: tc.cmd}
		_, err := x.Write([]byte("a\nb\n"))
		if err == nil {
			err = x.Confirm()
		}
		var ee *ExecError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) || ee.Retryable() != tc.retryable {
			t.Errorf("%s: %v; want an ExecError containing %q (retryable %v)", tc.cmd, err, tc.want, tc.retryable)
		}
	}
}

// A command that stops reading its input before the end of a batch fails
// the batch, even when it exits 0.
func TestExecThatStopsReading(t *testing.T) {
	x := &Exec{Command: "head -c 1 >/dev/null"}
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 1<<16) // more than a pipe holds
	_, err := x.Write(big)
	if err == nil {
		err = x.Confirm()
	}
	if err == nil || !strings.Contains(err.Error(), "stopped reading its input") {
		t.Fatalf("%v; want the batch failed: it stopped reading", err)
	}
}

// Records moves the consumer only past what the downstream confirmed.
func TestRecordsMoveAfterConfirm(t *testing.T) {
	cfg := cfgAt(t, Direct)
	c := open(t, cfg)
	x := &Exec{Command: "cat >/dev/null; exit 1"}
	r := NewRecords(RecordsConfig{Out: x, Consumer: c})
	b := watch.Batch{Records: []record.Record{{AggregateType: "t", InstanceID: "a", Version: 1, Offset: 10, Hash: "h", Event: record.RawMessage(`{}`)}}, Idle: true}
	if err := r.Batch(b); err == nil {
		t.Fatal("a failed batch returned nil")
	}
	if len(r.Cursors()) != 0 {
		t.Fatalf("cursors moved past an unconfirmed batch: %v", r.Cursors())
	}
	_ = c.Close(Result{Err: errors.New("x")})
	if got := saved(t, cfg); got != -1 {
		t.Fatalf("checkpoint saved at %d", got)
	}
	c = open(t, cfg)
	var out bytes.Buffer
	r = NewRecords(RecordsConfig{Out: Pipe{&out}, Consumer: c, Limit: 1})
	b.Records = append(b.Records, record.Record{AggregateType: "t", InstanceID: "a", Version: 2, Offset: 20, Hash: "h2", Event: record.RawMessage(`{}`)})
	if err := r.Batch(b); !errors.Is(err, ErrLimit) {
		t.Fatalf("Batch past the limit = %v; want ErrLimit", err)
	}
	if r.Delivered() != 1 || strings.Count(out.String(), "\n") != 1 || r.Cursors()["t/a"].Offset != 10 {
		t.Fatalf("delivered %d, out %q, cursors %v; want the first record only", r.Delivered(), out.String(), r.Cursors())
	}
	_ = c.Close(Result{Clean: true})
	if got := saved(t, cfg); got != 10 {
		t.Fatalf("checkpoint at %d; want 10", got)
	}
}
