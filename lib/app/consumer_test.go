package app

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/consumer"
)

func TestRebuildValue(t *testing.T) {
	for in, want := range map[string]consumer.Rebuild{
		"true": consumer.Always, "1": consumer.Always, "yes": consumer.Always,
		"false": consumer.Resume, "0": consumer.Resume, "no": consumer.Resume,
		"auto": consumer.IfChanged,
	} {
		var v rebuildValue
		if err := v.Set(in); err != nil || v.Get() != want {
			t.Errorf("Set(%q): %v, %v; want %v", in, v.Get(), err, want)
		}
	}
	var v rebuildValue
	if err := v.Set("maybe"); err == nil || err.Error() != `"maybe" is not true, false or auto` {
		t.Errorf("Set(maybe): %v", err)
	}
	if !v.IsBoolFlag() {
		t.Error("--rebuild must be given without a value")
	}
	for r, s := range map[consumer.Rebuild]string{consumer.Always: "true", consumer.IfChanged: "auto", consumer.Resume: ""} {
		if got := (&rebuildValue{r}).String(); got != s {
			t.Errorf("String of %v = %q, want %q", r, got, s)
		}
	}
}

// What --rebuild reads, given as a user gives it.
func TestRebuildFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want consumer.Rebuild
	}{
		{nil, consumer.Resume},
		{[]string{"--rebuild"}, consumer.Always},
		{[]string{"--rebuild=true"}, consumer.Always},
		{[]string{"--rebuild=auto"}, consumer.IfChanged},
		{[]string{"--rebuild=false"}, consumer.Resume},
	} {
		var got consumer.Rebuild
		code, stderr := parse(t, nil, []cli.Flag{RebuildFlagDef("start over")}, func(c *cli.Context, _ Env) (err error) {
			got, err = RebuildFlag(c)
			return err
		}, tc.args...)
		if code != 0 || got != tc.want {
			t.Errorf("%q: %v (exit %d %s), want %v", tc.args, got, code, stderr, tc.want)
		}
	}
	code, stderr := parse(t, nil, []cli.Flag{RebuildFlagDef("start over")}, func(*cli.Context, Env) error { return nil }, "--rebuild=maybe")
	if code != ExitUsage || stderr == "" {
		t.Errorf("--rebuild=maybe: exit %d %q, want a usage error", code, stderr)
	}
}

func TestDelivery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		mode   consumer.Mode
		exec   string // the command of an Exec downstream; "" for a Pipe
		stderr string
	}{
		{name: "default: pending until --commit", mode: consumer.Pending},
		{name: "--at-most-once", args: []string{"--at-most-once"}, mode: consumer.Direct},
		{name: "--exec", args: []string{"--exec", "mail -s x"}, mode: consumer.Direct, exec: "mail -s x"},
		{name: "--exec empty", args: []string{"--exec="}, stderr: "prog: error: --exec needs a command\n"},
		{name: "--exec and --at-most-once", args: []string{"--exec", "cat", "--at-most-once"},
			stderr: "prog: error: --exec confirms each batch: --at-most-once makes no sense with it\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mode consumer.Mode
			var ds consumer.Downstream
			var stdout any
			_, stderr := parse(t, nil, DeliveryFlags(), func(c *cli.Context, env Env) (err error) {
				stdout = env.Stdout
				mode, ds, err = Delivery(c, env, "FOLD_ROOT=r")
				return err
			}, tc.args...)
			if stderr != tc.stderr {
				t.Fatalf("stderr %q, want %q", stderr, tc.stderr)
			}
			if tc.stderr != "" {
				return
			}
			if mode != tc.mode {
				t.Errorf("mode %v, want %v", mode, tc.mode)
			}
			switch d := ds.(type) {
			case *consumer.Exec:
				if tc.exec == "" || d.Command != tc.exec || len(d.Env) != 1 || d.Env[0] != "FOLD_ROOT=r" || d.Stdout != stdout {
					t.Errorf("downstream %+v, want --exec %q with FOLD_ROOT and the program's stdout", d, tc.exec)
				}
			case consumer.Pipe:
				if tc.exec != "" || d.Writer != stdout {
					t.Errorf("a pipe to %v, want --exec %q", d.Writer, tc.exec)
				}
			default:
				t.Errorf("downstream %T", ds)
			}
		})
	}
}

func TestConsumerLock(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		skip   bool
		stderr string
	}{
		{nil, false, ""},
		{[]string{"--if-busy", "wait"}, false, ""},
		{[]string{"--if-busy=skip"}, true, ""},
		{[]string{"--if-busy", "never"}, false, "prog: error: --if-busy \"never\" is not wait or skip\n"},
	} {
		var cfg consumer.Config
		_, stderr := parse(t, nil, LockFlags("wait"), func(c *cli.Context, _ Env) error { return ConsumerLock(c, &cfg) }, append(tc.args, "--lock-timeout", "3s")...)
		if stderr != tc.stderr || tc.stderr == "" && (cfg.SkipIfBusy != tc.skip || cfg.LockTimeout.Seconds() != 3) {
			t.Errorf("%q: %+v, stderr %q", tc.args, cfg, stderr)
		}
	}
}

// ConsumerError maps what stops a consumer's run to the exits the SPEC
// sets.
func TestConsumerError(t *testing.T) {
	bad := &checkpoint.BadError{Path: "c.json", Err: errors.New("not JSON")}
	for _, tc := range []struct {
		name string
		err  error
		kind consumer.Kind
		want ExitError
	}{
		{"skipped", fmt.Errorf("consumer %q: %w", "m", consumer.ErrSkipped), consumer.Watch, ExitError{Code: ExitOK}},
		{"stopped while waiting", fmt.Errorf("wait: %w", context.Canceled), consumer.Watch, ExitError{Code: ExitOK}},
		{"busy", fmt.Errorf("consumer \"m\" is in use: %w", consumer.ErrBusy), consumer.Watch, ExitError{Code: ExitRetryable,
			Message: "consumer \"m\" is in use: " + consumer.ErrBusy.Error(),
			Hint:    "wait for the other run to end, give a longer --lock-timeout, or --if-busy=skip to skip quietly"}},
		{"nothing pending", fmt.Errorf("consumer \"m\": %w", consumer.ErrNothingPending), consumer.Watch, ExitError{Code: ExitFailed,
			Message: "consumer \"m\": nothing to confirm", Hint: "nothing is lost: the next run delivers again everything not confirmed"}},
		{"a bad checkpoint of fold-watch", bad, consumer.Watch, ExitError{Code: ExitFatal, Message: bad.Error(),
			Hint: "remove it to start the consumer over from the first record"}},
		{"a bad checkpoint of a projection", bad, consumer.Projection, ExitError{Code: ExitFatal, Message: bad.Error(),
			Hint: "--rebuild replaces it, starting over from the first record"}},
		{"anything else", errors.New("permission denied"), consumer.Watch, ExitError{Code: ExitFatal, Message: "permission denied"}},
	} {
		err := ConsumerError(tc.err, consumer.Config{Kind: tc.kind})
		if e, ok := errors.AsType[*ExitError](err); !ok || *e != tc.want {
			t.Errorf("%s: %#v, want %+v", tc.name, err, tc.want)
		}
	}
}

func TestDeliveryExit(t *testing.T) {
	run := func(script string) *consumer.ExecError {
		err := exec.Command("/bin/sh", "-c", script).Run()
		var status int
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			status = ee.ExitCode()
		}
		return &consumer.ExecError{Command: script, Lines: 2, Status: status, Err: err}
	}
	const hint = "what was not confirmed is delivered again by the next run"
	for _, tc := range []struct {
		e    *consumer.ExecError
		want ExitError
	}{
		{run("exit 75"), ExitError{Code: ExitRetryable, Message: `--exec "exit 75" exited with status 75: a batch of 2 line(s) was not confirmed`, Hint: hint}},
		{run("exit 1"), ExitError{Code: ExitFailed, Message: `--exec "exit 1" exited with status 1: a batch of 2 line(s) was not confirmed`, Hint: hint}},
		{&consumer.ExecError{Command: "x", Lines: 1, Status: -1, Err: errors.New("broken pipe")}, ExitError{Code: ExitFailed,
			Message: `--exec "x": broken pipe: a batch of 1 line(s) was not confirmed`, Hint: hint}},
	} {
		err := DeliveryExit(tc.e)
		if e, ok := errors.AsType[*ExitError](err); !ok || *e != tc.want {
			t.Errorf("%v: %#v, want %+v", tc.e, err, tc.want)
		}
	}
}

func TestFeedFlags(t *testing.T) {
	flags := []cli.Flag{&cli.BoolFlag{Name: "stdin"}, &cli.BoolFlag{Name: "follow"}, &cli.DurationFlag{Name: "poll"}}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--follow", "--poll", "1s"}, ""},
		{[]string{"--stdin", "--follow"}, ""},
		{[]string{"--poll", "1s"}, "prog: error: --poll needs --follow and the root (not --stdin)\n"},
		{[]string{"--stdin", "--follow", "--poll", "1s"}, "prog: error: --poll needs --follow and the root (not --stdin)\n"},
	} {
		_, stderr := parse(t, nil, flags, func(c *cli.Context, _ Env) error { _, err := FeedFlags(c); return err }, tc.args...)
		if stderr != tc.stderr {
			t.Errorf("%q: stderr %q, want %q", tc.args, stderr, tc.stderr)
		}
	}
}
