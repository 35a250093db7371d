// Package apptest runs fold's programs in-process, for their tests: a
// program's cli.App is built over an app.Env of buffers and run through
// app.Main, as its main runs it, and what it printed and its exit status
// are there to compare. Handlers are still real processes.
//
// Use it from a program's package main:
//
//	fx := apptest.Program{Name: "fold-exec", New: newApp, Env: apptest.RootEnv(t)}
//	r := fx.Run(t, `{"instance_id":"a","command":{"type":"Increment"}}`+"\n", "--type", "counter", "--handler", h)
//	apptest.Check(t, r, apptest.Result{Code: 1, Stderr: "fold-exec: error: …\n"})
package apptest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/store"
)

// Program is a fold program as its main builds it.
type Program struct {
	Name string                 // as its messages name it: "fold-exec"
	New  func(app.Env) *cli.App // the program's newApp
	// Env is the whole environment a run reads (FOLD_ROOT, FOLD_DEBUG);
	// a name not in it is unset. The handlers a run starts inherit the
	// test's own environment, as they would a shell's.
	Env map[string]string
}

// Result is what one run printed and its exit status.
type Result struct {
	Stdout string
	Stderr string
	Code   int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// Run runs p with args (the program's name left out) and stdin as its
// standard input, and returns what it printed and its exit status. The run
// is stopped, as by a signal, when the test ends. Runs go one at a time,
// even from parallel tests.
func (p Program) Run(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return p.run(t.Context(), stdin, nil, args)
}

// FollowBound is how long RunUntil lets a run go on.
const FollowBound = 10 * time.Second

// RunUntil is Run for a run that follows the root: after each write to
// stdout, until is called with all the run wrote there so far, and once it
// returns true the run is stopped, as by a signal. until runs on the
// writer's goroutine and must not block. A run still going after
// FollowBound is stopped too, and the test fails.
func (p Program) RunUntil(t testing.TB, stdin string, until func(stdout string) bool, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var bound atomic.Bool
	defer time.AfterFunc(FollowBound, func() { bound.Store(true); cancel() }).Stop()
	r := p.run(ctx, stdin, func(out string) {
		if until(out) {
			cancel()
		}
	}, args)
	if bound.Load() {
		t.Errorf("%s %s: still running after %v\n%s", p.Name, strings.Join(args, " "), FollowBound, r)
	}
	return r
}

// running serialises runs: urfave/cli v2 shares its --help flag among
// apps, and parsing writes to it.
var running sync.Mutex

func (p Program) run(ctx context.Context, stdin string, wrote func(stdout string), args []string) Result {
	running.Lock()
	defer running.Unlock()
	stdout, stderr := buffer{wrote: wrote}, buffer{}
	env := app.Env{Prog: p.Name, Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return p.Env[k] }}
	code := app.Main(ctx, p.New(env), append([]string{p.Name}, args...), env)
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// buffer collects what a run writes to stdout or stderr. The handlers and
// --exec commands a run starts write to them too, from goroutines of
// os/exec: writes are serialised, as they are on a file. It has no
// ReadFrom, which would hold the buffer while a process runs.
type buffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote func(string) // called after each write with all written; nil for none
}

func (w *buffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.wrote != nil {
		w.wrote(w.b.String())
	}
	return n, err
}

func (w *buffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Check reports each way got differs from want.
func Check(t testing.TB, got, want Result) {
	t.Helper()
	if got.Code != want.Code {
		t.Errorf("exit status %d, want %d\n%s", got.Code, want.Code, got)
	}
	if got.Stdout != want.Stdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", got.Stdout, want.Stdout)
	}
	if got.Stderr != want.Stderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", got.Stderr, want.Stderr)
	}
}

// Root returns the path of a fresh root for the test: not created, as a
// root is by the first write.
func Root(t testing.TB) string { return filepath.Join(t.TempDir(), "root") }

// RootEnv is an environment whose FOLD_ROOT is a fresh root.
func RootEnv(t testing.TB) map[string]string { return map[string]string{"FOLD_ROOT": Root(t)} }

// Repo returns the path of the file at rel from the repository's top,
// found from the test's working directory (its package's).
func Repo(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = up
	}
}

// Sh quotes s for /bin/sh, as handler command lines are run.
func Sh(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// JQ is the command line of a jq handler: the jq program at rel from the
// repository's top.
func JQ(t testing.TB, rel string) string {
	return "jq --unbuffered -c -f " + Sh(Repo(t, rel))
}

// FileRoot returns the path of a plain file, for a root that is not a
// directory.
func FileRoot(t testing.TB) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "root")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// WantNoRoot fails the test if root exists: only a write creates a root,
// never a reader or a usage error.
func WantNoRoot(t testing.TB, root string) {
	t.Helper()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root %s exists (%v); nothing should have created it", root, err)
	}
}

// HoldConsumer takes the lock of the consumer of kind named name in root,
// as a run of it does, until release is called or the test ends. It
// returns the lock file's path, as messages name it.
func HoldConsumer(t testing.TB, root string, kind consumer.Kind, name string) (lock string, release func()) {
	t.Helper()
	dir := consumer.Dir(store.Open(root), kind, name)
	unlock, err := consumer.Lock(t.Context(), consumer.Config{Dir: dir, Kind: kind, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := unlock(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(release)
	return filepath.Join(dir, "checkpoint.json.lock"), release
}
