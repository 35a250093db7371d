package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// parse runs a program made of flags and action through Main, as a
// program's main does, and returns its exit status and stderr.
func parse(t *testing.T, env map[string]string, flags []cli.Flag, action func(c *cli.Context, env Env) error, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := Env{Prog: "prog", Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	a := &cli.App{Flags: flags, Action: func(c *cli.Context) error { return action(c, e) }}
	code := Main(context.Background(), a, append([]string{"prog"}, args...), e)
	return code, stderr.String()
}

func TestParseCommon(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	flags := append(CommonFlags(), &cli.DurationFlag{Name: "lock-timeout"}, &cli.DurationFlag{Name: "poll"})
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
		root   string // the root parsed, when the run goes on
	}{
		{name: "default root", root: store.DefaultRoot},
		{name: "root from FOLD_ROOT", env: map[string]string{"FOLD_ROOT": dir}, root: dir},
		{name: "--root over FOLD_ROOT", env: map[string]string{"FOLD_ROOT": "elsewhere"}, args: []string{"--root", dir}, root: dir},
		{name: "a root not there yet", args: []string{"--root", filepath.Join(dir, "new")}, root: filepath.Join(dir, "new")},
		{name: "a root that is a file", args: []string{"--root", file}, code: ExitFatal,
			stderr: "prog: error: root " + record.Quote(file) + " is not a directory\nprog: hint: --root (or $FOLD_ROOT) names the directory that holds the store\n"},
		{name: "FOLD_ROOT a file", env: map[string]string{"FOLD_ROOT": file}, code: ExitFatal,
			stderr: "prog: error: root " + record.Quote(file) + " is not a directory\nprog: hint: --root (or $FOLD_ROOT) names the directory that holds the store\n"},
		{name: "bad --log-level", args: []string{"--log-level", "loud"}, code: ExitUsage,
			stderr: "prog: error: --log-level \"loud\" is not one of debug, info, warn, error\n"},
		{name: "bad --log-format", args: []string{"--log-format", "xml"}, code: ExitUsage,
			stderr: "prog: error: --log-format \"xml\" is not text or json\n"},
		{name: "bad --errors", args: []string{"--errors", "yaml"}, code: ExitUsage,
			stderr: "prog: error: --errors \"yaml\" is not text or json\n"},
		{name: "negative duration", args: []string{"--poll", "-1s"}, code: ExitUsage,
			stderr: "prog: error: --poll -1s is negative\nprog: hint: give a length of time, e.g. --poll 5s\n"},
		{name: "zero duration", args: []string{"--lock-timeout", "0s"}, root: store.DefaultRoot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cm Common
			code, stderr := parse(t, tc.env, flags, func(c *cli.Context, env Env) (err error) {
				cm, err = ParseCommon(c, env)
				return err
			}, tc.args...)
			if code != tc.code || stderr != tc.stderr {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, stderr:\n%s", code, stderr, tc.code, tc.stderr)
			}
			if tc.code == 0 && (cm.Root.Dir != tc.root || cm.Store.Location() != tc.root || cm.Log == nil || cm.Report == nil) {
				t.Errorf("root %q (store %q); want %q, with a log and a reporter", cm.Root.Dir, cm.Store.Location(), tc.root)
			}
		})
	}
}

// --log-format json gives slog's JSON records, each naming the program.
func TestJSONLogs(t *testing.T) {
	code, stderr := parse(t, nil, CommonFlags(), func(c *cli.Context, env Env) error {
		cm, err := ParseCommon(c, env)
		if err != nil {
			return err
		}
		cm.Log.Warn("careful", "n", 2)
		cm.Log.Info("not shown at warn")
		return nil
	}, "--log-format", "json")
	if code != 0 || !strings.Contains(stderr, `"level":"WARN","msg":"careful","prog":"prog","n":2}`) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// Flags given before a subcommand count as given after it, unless given
// there again.
func TestInherit(t *testing.T) {
	run := func(args ...string) string {
		var root string
		var stderr bytes.Buffer
		e := Env{Prog: "prog", Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(string) string { return "" }}
		a := &cli.App{Flags: CommonFlags(), Commands: []*cli.Command{{Name: "sub", Flags: CommonFlags(), Action: func(c *cli.Context) error {
			cm, err := ParseCommon(c, e)
			root = cm.Root.Dir
			return err
		}}}}
		if code := Main(context.Background(), a, append([]string{"prog"}, args...), e); code != 0 {
			t.Fatalf("%q: exit %d\n%s", args, code, stderr.String())
		}
		return root
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--root", "before", "sub"}, "before"},
		{[]string{"sub", "--root", "after"}, "after"},
		{[]string{"--root", "before", "sub", "--root", "after"}, "after"},
		{[]string{"sub"}, store.DefaultRoot},
	} {
		if got := run(tc.args...); got != tc.want {
			t.Errorf("%q: root %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestParseCommonNoArgs(t *testing.T) {
	code, stderr := parse(t, nil, CommonFlags(), func(c *cli.Context, env Env) error {
		_, err := ParseCommonNoArgs(c, env)
		return err
	}, "stray")
	if code != ExitUsage || stderr != "prog: error: unexpected argument \"stray\"\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// Main prints an error as "prog: error: …", its hint on a line of its
// own, and returns the exit status the error carries.
func TestMainExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		args   []string
		code   int
		stderr string
	}{
		{name: "success", err: nil},
		{name: "an exit error with a hint", err: &ExitError{Code: ExitRetryable, Message: "busy", Hint: "later"},
			code: ExitRetryable, stderr: "prog: error: busy\nprog: hint: later\n"},
		{name: "a status alone, already reported", err: Exit(ExitFailed), code: ExitFailed},
		{name: "a usage error", err: UsageError("bad"), code: ExitUsage, stderr: "prog: error: bad\n"},
		{name: "any other error is fatal", err: errors.New("disk on fire"), code: ExitFatal, stderr: "prog: error: disk on fire\n"},
		{name: "a cli exit coder", err: cli.Exit("from cli", 4), code: 4, stderr: "prog: error: from cli\n"},
		{name: "an unknown flag", args: []string{"--colour"}, code: ExitUsage,
			stderr: "prog: error: unknown flag --colour\nprog: hint: see --help for the flags\n"},
		{name: "a flag without its value", args: []string{"--root"}, code: ExitUsage,
			stderr: "prog: error: flag needs an argument: --root\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := parse(t, nil, CommonFlags(), func(*cli.Context, Env) error { return tc.err }, tc.args...)
			if code != tc.code || stderr != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestOutputError(t *testing.T) {
	if err := OutputError(fmt.Errorf("write: %w", syscall.EPIPE)); err != nil {
		t.Errorf("a reader gone away is no error: %v", err)
	}
	if err := OutputError(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
	err := OutputError(errors.New("no space"))
	if e, ok := errors.AsType[*ExitError](err); !ok || e.Code != ExitFatal || e.Message != "no space" {
		t.Errorf("another write error: %#v, want fatal", err)
	}
}

func TestIntAtLeast(t *testing.T) {
	flags := []cli.Flag{&cli.IntFlag{Name: "jobs"}, &cli.IntFlag{Name: "every"}}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--jobs", "1", "--every", "0"}, ""},
		{[]string{"--jobs", "0"}, "prog: error: --jobs 0 is not a positive number\n"},
		{[]string{"--jobs", "2", "--every", "-1"}, "prog: error: --every -1 is negative\n"},
	} {
		_, stderr := parse(t, nil, flags, func(c *cli.Context, _ Env) error {
			if _, err := IntAtLeast(c, "jobs", 1); err != nil {
				return err
			}
			_, err := IntAtLeast(c, "every", 0)
			return err
		}, tc.args...)
		if stderr != tc.stderr {
			t.Errorf("%q: stderr %q, want %q", tc.args, stderr, tc.stderr)
		}
	}
}

func TestExitStatusHelp(t *testing.T) {
	h := ExitStatusHelp("what 1 means", "what 75 means")
	for _, want := range []string{"\n   1   what 1 means\n", "\n   2   usage error\n", "\n   75  what 75 means"} {
		if !strings.Contains(h, want) {
			t.Errorf("EXIT STATUS help lacks %q:\n%s", want, h)
		}
	}
}
