package app

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// HandlerBase is what every handler a run starts shares: the request
// timeout (--handler-timeout), stderr passed through, and the protocol copy
// on stderr when FOLD_DEBUG contains "protocol".
func HandlerBase(c *cli.Context, env Env) handler.Config {
	cfg := handler.Config{Timeout: c.Duration("handler-timeout"), Stderr: env.Stderr}
	if strings.Contains(env.Getenv("FOLD_DEBUG"), "protocol") {
		cfg.Debug = env.Stderr
	}
	return cfg
}

// OwnHandler is the configuration of a consumer's own handler (a
// projection's, a process manager's): base, with its command and the
// environment the protocol gives it.
func OwnHandler(base handler.Config, cm Common, role, name, command string) handler.Config {
	base.Command = command
	base.Env = append(base.Env, "FOLD_ROLE="+role, "FOLD_ROOT="+cm.Root.Dir, "FOLD_NAME="+name)
	return base
}

// HandlerStart is what a handler that cannot start means (see
// handler.Pool.Start): one fatal error, with its hint, before any input is
// read. It is nil for nil, and when the run was stopped meanwhile.
func HandlerStart(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if e, ok := errors.AsType[*handler.StartError](err); ok {
		return &ExitError{Code: ExitFatal, Message: e.Error(), Hint: e.Hint}
	}
	return Fatal(err)
}

// EngineFlags are the flags of the command bus, for the programs that run
// commands: fold-exec, and fold-pm --dispatch and retry. Each program
// defines --lock-timeout itself, since what it waits for differs.
func EngineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sync", Value: string(exec.SyncBatch), Usage: "when events become durable: each (fdatasync per command), batch (group commit), none"},
		&cli.IntFlag{Name: "snapshot-every", Value: exec.DefaultSnapshotEvery, Usage: "save an instance's snapshot after this many new events (0: never)"},
		&cli.DurationFlag{Name: "idle-timeout", Value: exec.DefaultIdleTimeout, Usage: "free an instance's cached state after this long unused"},
		&cli.IntFlag{Name: "max-actors", Value: exec.DefaultMaxActors, Usage: "instances kept cached at most (least recently used evicted)"},
		&cli.IntFlag{Name: "jobs", Value: runtime.NumCPU(), Usage: "handler processes per aggregate type (requests to each are pipelined)"},
		&cli.StringFlag{Name: "memory", Value: record.FormatSize(exec.DefaultMemoryBudget), Usage: "the most a run holds of commands read and not yet done and of logs being replayed, `SIZE` in bytes, KiB or MiB (at least 1MiB); a command larger than that still runs, alone"},
	}
}

// memoryBudget reads --memory.
func memoryBudget(c *cli.Context) (int, error) {
	v := c.String("memory")
	n, err := record.ParseSize(v)
	switch {
	case err != nil:
		return 0, UsageError("--memory: " + err.Error())
	case n < 1<<20:
		return 0, UsageError(fmt.Sprintf("--memory %s is less than 1MiB", record.Quote(v)))
	}
	return n, nil
}

// EngineFlagNames are the names of EngineFlags.
func EngineFlagNames() []string {
	var names []string
	for _, f := range EngineFlags() {
		names = append(names, f.Names()[0])
	}
	return names
}

// EngineConfig reads EngineFlags and --lock-timeout into an engine's
// configuration, with pools as its routes.
func EngineConfig(c *cli.Context, cm Common, pools map[string]*handler.Pool) (exec.Config, error) {
	mode, err := exec.ParseSyncMode(c.String("sync"))
	if err != nil {
		return exec.Config{}, UsageError(err.Error())
	}
	every, err := IntAtLeast(c, "snapshot-every", 0)
	if err != nil {
		return exec.Config{}, err
	}
	maxActors, err := IntAtLeast(c, "max-actors", 1)
	if err != nil {
		return exec.Config{}, err
	}
	jobs, err := IntAtLeast(c, "jobs", 1)
	if err != nil {
		return exec.Config{}, err
	}
	memory, err := memoryBudget(c)
	if err != nil {
		return exec.Config{}, err
	}
	return exec.Config{
		Store: cm.Store, Routes: pools, Sync: mode, SnapshotEvery: every,
		LockTimeout: c.Duration("lock-timeout"), IdleTimeout: c.Duration("idle-timeout"),
		MaxActors: maxActors, Jobs: jobs, Log: cm.Log, MaxEvent: cm.MaxEvent,
		MemoryBudget: memory,
	}, nil
}

// IntAtLeast reads an integer flag that may not be below least (0 or 1): a
// usage error names the flag and the value, rather than a silent
// correction.
func IntAtLeast(c *cli.Context, name string, least int) (int, error) {
	v := c.Int(name)
	switch {
	case v >= least:
		return v, nil
	case least == 1:
		return 0, UsageError(fmt.Sprintf("--%s %d is not a positive number", name, v))
	}
	return 0, UsageError(fmt.Sprintf("--%s %d is negative", name, v))
}

// StartHandlers starts a pool of jobs handler processes for each route and
// probes each before any input is read: one that cannot start is one fatal
// error (HandlerStart). The returned stop closes them all, also after an
// error.
func StartHandlers(ctx context.Context, c *cli.Context, env Env, cm Common, routes exec.Routes, jobs int) (pools map[string]*handler.Pool, stop func(), err error) {
	pools = routes.Pools(HandlerBase(c, env), cm.Root.Dir, jobs)
	stop = func() { _ = exec.ClosePools(pools) }
	return pools, stop, HandlerStart(exec.StartPools(ctx, pools))
}
