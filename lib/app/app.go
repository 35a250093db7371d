// Package app holds what every fold program shares in how it meets its
// user: the common flags, the root's location, structured logs, exit codes,
// signals, and the reporting of failed input lines.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Version is the suite's version, printed by --version.
const Version = "0.2.0"

// Exit statuses, the same for every program, so scripts can branch.
const (
	ExitOK        = 0  // all input handled
	ExitFailed    = 1  // some input lines failed; the rest were processed
	ExitUsage     = 2  // bad flags or arguments
	ExitFatal     = 3  // root unusable or I/O error: processing stopped
	ExitRetryable = 75 // the only failures were retryable: run again later (EX_TEMPFAIL)
)

// ExitStatusHelp is the EXIT STATUS text shown in --help, with what
// statuses 1 and 75 mean for the program.
func ExitStatusHelp(failed, retryable string) string {
	return `EXIT STATUS:
   0   done, or stopped cleanly (a signal, a closed output)
   1   ` + failed + `
   2   usage error
   3   fatal: root unusable, a handler that cannot start, or I/O error; processing stopped,
       nothing half-written
   75  ` + retryable
}

// ExitStatusHelpExec is the EXIT STATUS of the programs that run commands.
var ExitStatusHelpExec = ExitStatusHelp(
	"some input lines failed (each reported on stderr); the rest were processed",
	"the only failures were retryable (lock_timeout): run again later")

// CommonFlags are the flags every program takes.
func CommonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Usage: "root directory of the store (default $FOLD_ROOT, else ./" + store.DefaultRoot + ")"},
		storeFlag(),
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json (structured logs on stderr)"},
		&cli.StringFlag{Name: "errors", Value: "text", Usage: "how failed input lines are reported on stderr: text or json"},
	}
}

// Env is what a program's run needs from the outside world, passed in so
// tests can drive it without a process.
type Env struct {
	Prog   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Common is the parsed common flags.
type Common struct {
	// Root is the root directory: where consumers keep their state
	// (checkpoints, dead letters) and, with the file backend, the streams.
	Root store.Root
	// Store holds the streams. Everything that reads or appends events
	// goes through it, so another backend is chosen here and nowhere else:
	// the root, or the JetStream store --store / $FOLD_STORE names.
	Store  store.Store
	Log    *slog.Logger
	Report *Reporter
	// MaxEvent is the longest event line written or read
	// (--max-event-size); input lines may be record.MaxLine(MaxEvent).
	MaxEvent int

	closeStore func() error
}

// Close closes the store's connection, if it has one.
func (cm Common) Close() error {
	if cm.closeStore == nil {
		return nil
	}
	return cm.closeStore()
}

// ParseCommon reads the common flags from c. Flags given before a
// subcommand count as if given after it (see inherit).
func ParseCommon(c *cli.Context, env Env) (Common, error) {
	var cm Common
	if err := inherit(c); err != nil {
		return cm, UsageError(err.Error())
	}
	root := c.String("root")
	if root == "" {
		root = env.Getenv("FOLD_ROOT")
	}
	if root == "" {
		root = store.DefaultRoot
	}
	cm.Root = store.Open(root)
	if b := env.Getenv("FOLD_WATCH_BUDGET"); b != "" {
		// Tests lower it to follow a root past it; see docs/following.md.
		n, err := strconv.Atoi(b)
		if err != nil || n <= 0 {
			return cm, UsageError(fmt.Sprintf("FOLD_WATCH_BUDGET %s is not a positive number of watches", record.Quote(b)))
		}
		cm.Root.WatchBudget = n
	}
	cm.Store = cm.Root
	if st, err := os.Stat(root); err == nil && !st.IsDir() {
		return cm, &ExitError{Code: ExitFatal, Message: fmt.Sprintf("root %s is not a directory", record.Quote(root)),
			Hint: "--root (or $FOLD_ROOT) names the directory that holds the store"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cm, UsageError(fmt.Sprintf("--log-level %q is not one of debug, info, warn, error", c.String("log-level")))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		cm.Log = slog.New(newTextHandler(env.Stderr, env.Prog, level))
	case "json":
		cm.Log = slog.New(slog.NewJSONHandler(env.Stderr, opts)).With("prog", env.Prog)
	default:
		return cm, UsageError(fmt.Sprintf("--log-format %q is not text or json", c.String("log-format")))
	}
	format := c.String("errors")
	if format != "text" && format != "json" {
		return cm, UsageError(fmt.Sprintf("--errors %q is not text or json", format))
	}
	cm.Report = NewReporter(env.Prog, format == "json", env.Stderr, cm.Log)
	if err := CheckDurations(c); err != nil {
		return cm, err
	}
	var err error
	if cm.MaxEvent, err = maxEventSize(c); err != nil {
		return cm, err
	}
	st, closeStore, err := openStore(c, env, cm.Root)
	if err != nil {
		return cm, err
	}
	cm.Store, cm.closeStore = st, closeStore
	return cm, nil
}

// WarnNoStore says that the store a reader was pointed at does not exist:
// nothing to read is not an error, but a cron job in the wrong directory
// should say so.
func (cm Common) WarnNoStore() {
	cm.Log.Warn(fmt.Sprintf("no store at %s", record.Quote(cm.Store.Location())),
		"hint", "check --root and $FOLD_ROOT (readers never create a store)")
}

// ParseCommonNoArgs is ParseCommon for a (sub)command that takes no
// arguments: a stray one is a usage error naming it.
func ParseCommonNoArgs(c *cli.Context, env Env) (Common, error) {
	if c.NArg() > 0 {
		return Common{}, UsageError(fmt.Sprintf("unexpected argument %s", record.Quote(c.Args().First())))
	}
	return ParseCommon(c, env)
}

// OutputError is what a failed write to stdout means: nothing when its
// reader went away (| head), else a fatal error.
func OutputError(err error) error {
	if err == nil || errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return Fatal(err)
}

// ExitError carries an exit status and a message for main to print.
type ExitError struct {
	Code    int
	Message string
	Hint    string
}

func (e *ExitError) Error() string { return e.Message }

// ExitCode implements cli.ExitCoder.
func (e *ExitError) ExitCode() int { return e.Code }

// UsageError is a bad flag or argument: exit 2.
func UsageError(msg string) *ExitError { return &ExitError{Code: ExitUsage, Message: msg} }

// Fatal is an error that stops the run: exit 3, or 75 when the store
// could not be reached.
func Fatal(err error) *ExitError { return storeError(err) }

// Exit is an error carrying only a status, the message already reported.
func Exit(code int) *ExitError { return &ExitError{Code: code} }

// Main runs a cli.App and returns the exit status, printing errors as
// "prog: error: message" (and "prog: hint: …"). It never calls os.Exit.
func Main(ctx context.Context, a *cli.App, args []string, env Env) int {
	a.Name = env.Prog
	a.Reader, a.Writer, a.ErrWriter = env.Stdin, env.Stdout, env.Stderr
	a.Version = Version
	// The hidden `completion SHELL` subcommand (completion.go).
	a.Commands = append(a.Commands, completionCommand())
	a.ExitErrHandler = func(*cli.Context, error) {} // exits happen in main, not inside App.Run
	a.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return UsageError(twoDashes(err.Error()))
	}
	for _, cmd := range a.Commands {
		cmd.OnUsageError = a.OnUsageError // one usage message, not a help screen
	}
	err := a.RunContext(ctx, permute(a, args))
	if err == nil {
		return ExitOK
	}
	code := ExitFatal
	msg := err.Error()
	hint := ""
	if ue := unknownFlag(msg, a, args); ue != nil {
		err = ue
	}
	switch e := err.(type) {
	case *ExitError:
		code, msg, hint = e.Code, e.Message, e.Hint
	case cli.ExitCoder:
		code = e.ExitCode()
	default:
		if isUsage(msg) {
			code, msg = ExitUsage, twoDashes(msg)
		} else if se := storeError(err); se.Code != ExitFatal {
			code, hint = se.Code, se.Hint
		}
	}
	if msg != "" {
		fmt.Fprintf(env.Stderr, "%s: error: %s\n", env.Prog, msg)
	}
	if hint != "" {
		fmt.Fprintf(env.Stderr, "%s: hint: %s\n", env.Prog, hint)
	}
	return code
}

// oneDash is how the flag parser names a flag in its complaints
// ("for flag -jobs", "argument: -handler", "for -rebuild").
var oneDash = regexp.MustCompile(`(flag |argument: |value "[^"]*" for )-([a-z])`)

// twoDashes names flags in a parser's complaint as fold's are written.
func twoDashes(msg string) string { return oneDash.ReplaceAllString(msg, "${1}--$2") }

// isUsage recognises the flag parser's own complaints.
func isUsage(msg string) bool {
	for _, p := range []string{"flag provided but not defined", "Required flag", "invalid value", "flag needs an argument", "No help topic"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// SignalContext returns a context cancelled on the first SIGINT or SIGTERM:
// the program finishes the line in hand and stops. A second signal kills
// it, as the default disposition is restored after the first. SIGPIPE is
// left alone so `| head` ends a filter quietly.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			cancel()
		case <-ctx.Done():
			signal.Stop(ch)
		}
	}()
	return ctx, cancel
}

// inherit copies into a subcommand's context the flags given on the
// command line before the subcommand's name, unless given again after it:
// a subcommand declares the common flags itself, so that they may follow
// it, and urfave/cli would read its own unset copy and ignore
// "fold-exec --root R streams". No flag here reads the environment through
// urfave/cli (FOLD_ROOT is read in ParseCommon), so what is set in a
// context was typed.
func inherit(c *cli.Context) error {
	lineage := c.Lineage()
	if len(lineage) < 2 {
		return nil
	}
	set := map[string]bool{}
	for _, n := range c.LocalFlagNames() {
		set[n] = true
	}
	for _, parent := range lineage[1:] {
		for _, n := range parent.LocalFlagNames() {
			if set[n] || !slices.Contains(c.FlagNames(), n) {
				continue
			}
			set[n] = true
			var vals []string
			switch v := parent.Value(n).(type) {
			case cli.StringSlice:
				vals = v.Value()
			default:
				vals = []string{fmt.Sprint(v)}
			}
			for _, v := range vals {
				if err := c.Set(n, v); err != nil {
					return fmt.Errorf("--%s given before %s: %w", n, c.Command.Name, err)
				}
			}
		}
	}
	return nil
}
