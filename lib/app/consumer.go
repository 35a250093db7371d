package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/fold-es/fold/lib/exec"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// LockFlags are the flags of a consumer's name lock: how long to wait for
// another run of the name, and whether to wait at all.
func LockFlags(usage string) []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "lock-timeout", Value: exec.DefaultLockTimeout, Usage: usage},
		&cli.StringFlag{Name: "if-busy", Value: "wait", Usage: "when another run holds the name: wait (up to --lock-timeout, then exit 75) or skip (exit 0 at once, printing nothing: for cron)"},
	}
}

// DeliveryFlags are the flags of a consumer whose output goes to another
// program, and of what confirms it.
func DeliveryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "exec", Usage: "run `CMD` (with /bin/sh -c) for each batch, the batch on its stdin: exit status 0 confirms it, and only then does the checkpoint move"},
		&cli.BoolFlag{Name: "commit", Usage: "confirm what the last run delivered (run it once the downstream succeeded) and exit"},
		&cli.BoolFlag{Name: "at-most-once", Usage: "move the checkpoint as soon as output is written, unconfirmed: what a failing downstream did not handle is lost"},
	}
}

// Delivery reads DeliveryFlags for a consumer: how its checkpoint moves and
// where its output goes. A durable consumer writing to stdout is Pending
// (confirmed by --commit) unless --at-most-once; --exec confirms each
// batch.
func Delivery(c *cli.Context, env Env, execEnv ...string) (consumer.Mode, consumer.Downstream, error) {
	cmd := c.String("exec")
	switch {
	case c.IsSet("exec") && cmd == "":
		return 0, nil, UsageError("--exec needs a command")
	case cmd != "" && c.Bool("at-most-once"):
		return 0, nil, UsageError("--exec confirms each batch: --at-most-once makes no sense with it")
	case cmd != "":
		return consumer.Direct, &consumer.Exec{Command: cmd, Stdout: env.Stdout, Stderr: env.Stderr, Env: execEnv}, nil
	case c.Bool("at-most-once"):
		return consumer.Direct, consumer.Pipe{Writer: env.Stdout}, nil
	}
	return consumer.Pending, consumer.Pipe{Writer: env.Stdout}, nil
}

// ConsumerLock reads LockFlags into cfg.
func ConsumerLock(c *cli.Context, cfg *consumer.Config) error {
	cfg.LockTimeout = c.Duration("lock-timeout")
	switch v := c.String("if-busy"); v {
	case "wait":
	case "skip":
		cfg.SkipIfBusy = true
	default:
		return UsageError(fmt.Sprintf("--if-busy %s is not wait or skip", record.Quote(v)))
	}
	return nil
}

// OpenConsumer opens a consumer's run, turning what stops it into the
// program's exit: a name held by another run is 75 (or a quiet 0 with
// --if-busy=skip), a stop while waiting is 0, an unreadable checkpoint 3.
func OpenConsumer(ctx context.Context, cfg consumer.Config) (*consumer.Consumer, error) {
	con, err := consumer.Open(ctx, cfg)
	if err != nil {
		return nil, ConsumerError(err, cfg)
	}
	return con, nil
}

// Commit confirms a Pending consumer's last delivery (--commit).
func Commit(ctx context.Context, cfg consumer.Config) error {
	if err := consumer.Commit(ctx, cfg); err != nil {
		return ConsumerError(err, cfg)
	}
	return nil
}

// ConsumerError is the exit for an error of opening or confirming a
// consumer.
func ConsumerError(err error, cfg consumer.Config) error {
	var bad *checkpoint.BadError
	switch {
	case errors.Is(err, consumer.ErrSkipped), errors.Is(err, context.Canceled):
		return Exit(ExitOK)
	case errors.Is(err, consumer.ErrBusy):
		return &ExitError{Code: ExitRetryable, Message: err.Error(),
			Hint: "wait for the other run to end, give a longer --lock-timeout, or --if-busy=skip to skip quietly"}
	case errors.Is(err, consumer.ErrNothingPending):
		return &ExitError{Code: ExitFailed, Message: err.Error(),
			Hint: "nothing is lost: the next run delivers again everything not confirmed"}
	case errors.As(err, &bad):
		hint := "--rebuild replaces it, starting over from the first record"
		if cfg.Kind == consumer.Watch {
			hint = "remove it to start the consumer over from the first record"
		}
		return &ExitError{Code: ExitFatal, Message: err.Error(), Hint: hint}
	}
	return Fatal(err)
}

// DeliveryExit is the exit status for a downstream that did not confirm
// a batch (--exec): 75 when it asked to be run again later, else 1.
func DeliveryExit(e *consumer.ExecError) error {
	code := ExitFailed
	if e.Retryable() {
		code = ExitRetryable
	}
	return &ExitError{Code: code, Message: e.Error(),
		Hint: "what was not confirmed is delivered again by the next run"}
}

// rebuildValue is --rebuild: a boolean flag that also takes "auto".
type rebuildValue struct{ v consumer.Rebuild }

func (r *rebuildValue) Set(s string) error {
	switch s {
	case "true", "1", "yes":
		r.v = consumer.Always
	case "false", "0", "no":
		r.v = consumer.Resume
	case "auto":
		r.v = consumer.IfChanged
	default:
		return fmt.Errorf("%s is not true, false or auto", record.Quote(s))
	}
	return nil
}

func (r *rebuildValue) String() string {
	switch r.v {
	case consumer.Always:
		return "true"
	case consumer.IfChanged:
		return "auto"
	}
	return ""
}

// Get makes it a flag.Getter, as urfave/cli's Context.Value wants.
func (r *rebuildValue) Get() any { return r.v }

// IsBoolFlag lets --rebuild be given without a value.
func (r *rebuildValue) IsBoolFlag() bool { return true }

// RebuildFlagDef is --rebuild, with what starting over means for the
// program.
func RebuildFlagDef(usage string) cli.Flag {
	return &cli.GenericFlag{Name: "rebuild", Value: &rebuildValue{}, Usage: usage +
		"; --rebuild=auto does so only when the handler (its command, or a file it names) changed since the last rebuild"}
}

// RebuildFlag reads --rebuild.
func RebuildFlag(c *cli.Context) (consumer.Rebuild, error) {
	if v, ok := c.Generic("rebuild").(*rebuildValue); ok {
		return v.v, nil
	}
	return consumer.Resume, nil
}

// LockConsumer takes a consumer's lock alone (fold-pm retry), with the
// exits of OpenConsumer.
func LockConsumer(ctx context.Context, cfg consumer.Config) (unlock func() error, err error) {
	unlock, err = consumer.Lock(ctx, cfg)
	if err != nil {
		return nil, ConsumerError(err, cfg)
	}
	return unlock, nil
}

// ConsumerName reads --name, which a consumer of kind requires.
func ConsumerName(c *cli.Context, kind consumer.Kind) (string, error) {
	name := c.String("name")
	if name == "" {
		return "", &ExitError{Code: ExitUsage, Message: "--name is required",
			Hint: fmt.Sprintf("name the %s: its files are in %s/", kind.Title(), consumer.Dir(store.Root{Dir: "."}, kind, "NAME"))}
	}
	if err := store.CheckName("name", name); err != nil {
		return "", UsageError("--name: " + err.Error())
	}
	return name, nil
}

// ConsumerConfig reads what every named consumer takes: --name,
// --subscribe, --rebuild, --dry-run and the lock's flags (LockFlags).
func ConsumerConfig(c *cli.Context, cm Common, kind consumer.Kind, saveEvery time.Duration) (cfg consumer.Config, err error) {
	name, err := ConsumerName(c, kind)
	if err != nil {
		return cfg, err
	}
	cfg = consumer.Config{Dir: consumer.Dir(cm.Root, kind, name), Kind: kind, Name: name, SaveEvery: saveEvery, Log: cm.Log,
		DryRun: c.Bool("dry-run")}
	if err := ConsumerLock(c, &cfg); err != nil {
		return cfg, err
	}
	if cfg.Subscribe, err = Subscriptions(c.StringSlice("subscribe")); err != nil {
		return cfg, err
	}
	cfg.Rebuild, err = RebuildFlag(c)
	return cfg, err
}

// Feed is where a consumer's records come from: --stdin, else the root,
// with --follow and --poll.
type Feed struct {
	Stdin, Follow bool
	Poll          time.Duration
}

// FeedFlags reads --stdin, --follow and --poll.
func FeedFlags(c *cli.Context) (Feed, error) {
	f := Feed{Stdin: c.Bool("stdin"), Follow: c.Bool("follow"), Poll: c.Duration("poll")}
	if c.IsSet("poll") && (!f.Follow || f.Stdin) {
		return f, UsageError("--poll needs --follow and the root (not --stdin)")
	}
	return f, nil
}
