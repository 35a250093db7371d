package handler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	noexec := filepath.Join(dir, "noexec.sh")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\ncat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := AggregateProbe("counter")
	for _, c := range []struct {
		name, command string
		want          string // the error's text after `handler "COMMAND" cannot start: `; "" for none
		hint          string // a part of the hint
		starts        int    // how many times the command was started, if it counts them
	}{
		{"answers", `while IFS= read -r l; do echo '{"state":null}'; done`, "", "", 0},
		{"rejects the probe", `while IFS= read -r l; do echo '{"error":"no"}'; done`, "", "", 0},
		{"one-shot", `echo x >>` + starts + `; read l; echo '{}'`, "", "", 1},
		{"not found", `fold-no-such-handler --flag`, "command not found", "/bin/sh -c", 0},
		{"not executable", noexec, "it cannot be run (exit status 126: not executable, or permission denied)", "chmod +x", 0},
		{"exits at once", `echo x >>` + starts + `; echo 'bad things' >&2; exit 2`,
			"exited without answering (exit status 2), each of the 2 times it was started", "try it by hand: echo '" + string(probe) + "' | sh -c 'echo x >>" + starts + "; echo '\\''bad things'\\'' >&2; exit 2'", 2},
		{"exits after reading", `echo x >>` + starts + `; read l; exit 0`,
			"exited without answering (exit status 0), each of the 2 times it was started", "", 2},
		{"prints a banner", `echo starting; cat`,
			`its first answer is not one JSON object: answered with something that is not a JSON object: "starting"`, "print anything else to stderr", 0},
		{"buffers its answers", `read l; sleep 5`,
			"did not answer its first request within 300ms (200ms to start, 100ms to answer)", "jq needs --unbuffered", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(starts)
			p := NewPool(Config{Command: c.command, Timeout: 100 * time.Millisecond, Startup: 200 * time.Millisecond}, 2)
			defer p.Close()
			if c.starts == 0 && strings.Contains(c.command, starts) {
				t.Fatal("count the starts")
			}
			err := p.Start(context.Background(), probe)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(starts); c.starts > 0 && strings.Count(string(b), "x") != c.starts {
					t.Fatalf("started %d times, want %d", strings.Count(string(b), "x"), c.starts)
				}
				// It goes on answering, restarted if it must be.
				if _, err := p.Call(context.Background(), probe); err != nil {
					t.Fatal(err)
				}
				return
			}
			se, ok := errors.AsType[*StartError](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *StartError", err, err)
			}
			if want := p.Name() + " cannot start: " + c.want; se.Error() != want {
				t.Fatalf("err = %s\nwant  %s", se, want)
			}
			if !strings.Contains(se.Hint, c.hint) {
				t.Fatalf("hint %q, want it to say %q", se.Hint, c.hint)
			}
			if c.starts > 0 {
				// At least that many: a request written while the process
				// was exiting is re-sent once to a new one (SPEC §4), which
				// a loaded machine makes happen more often.
				b, _ := os.ReadFile(starts)
				if n := strings.Count(string(b), "x"); n < c.starts || n > 2*c.starts {
					t.Fatalf("started %d times, want %d (at most %d)", n, c.starts, 2*c.starts)
				}
			}
		})
	}
}

func TestStartCancelled(t *testing.T) {
	p := NewPool(Config{Command: `read l; sleep 5`, Timeout: time.Minute}, 1)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Start(ctx, ProjectionProbe("totals"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, new(*StartError)) {
		t.Fatalf("err = %v, want the context's error", err)
	}
}

func TestProbes(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(AggregateProbe("counter")), `{"op":"apply","aggregate_type":"counter","instance_id":"","state":null,"events":[]}`},
		{string(ProjectionProbe("totals")), `{"op":"project","name":"totals","state":null,"records":[]}`},
		{string(ProcessManagerProbe("fulfil")), `{"op":"react","name":"fulfil","state":null,"records":[]}`},
	} {
		if c.got != c.want {
			t.Errorf("probe %s, want %s", c.got, c.want)
		}
	}
}
