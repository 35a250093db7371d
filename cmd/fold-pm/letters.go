package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
)

// pmArgs reads the common flags and --name of a subcommand about an
// existing process manager.
func pmArgs(c *cli.Context, env app.Env) (app.Common, string, error) {
	cm, err := app.ParseCommonNoArgs(c, env)
	if err != nil {
		return cm, "", err
	}
	name, err := app.ConsumerName(c, consumer.ProcessManager)
	return cm, name, err
}

// pmDir is the process manager's directory, which must exist: a name never
// run is more likely a typo than a process manager without dead letters.
func pmDir(cm app.Common, name string) (string, error) {
	dir := cm.Root.ProcessManagerDir(name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", &app.ExitError{Code: app.ExitFailed,
			Message: fmt.Sprintf("no process manager %s in root %s", record.Quote(name), record.Quote(cm.Root.Dir)),
			Hint:    "check --name and --root (or $FOLD_ROOT)"}
	}
	return dir, nil
}

func runDeadLetters(c *cli.Context, env app.Env) error {
	cm, name, err := pmArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	dir, err := pmDir(cm, name)
	if err != nil {
		return err
	}
	return app.PrintDeadLetters(env.Stdout, pm.LettersAt(dir), cm.Report)
}

func runRetry(c *cli.Context, env app.Env) error {
	cm, name, err := pmArgs(c, env)
	if err != nil {
		return err
	}
	defer cm.Close()
	routes, untyped, err := exec.ParseRoutes(c.StringSlice("handler"))
	switch {
	case err != nil:
		return app.UsageError(err.Error())
	case len(untyped) > 0:
		return &app.ExitError{Code: app.ExitUsage,
			Message: fmt.Sprintf("--handler %s has no aggregate type", record.Quote(untyped[0])),
			Hint:    "retry runs commands: give --handler TYPE=CMD for each aggregate type they go to"}
	case len(routes) == 0:
		return &app.ExitError{Code: app.ExitUsage, Message: "no handler given",
			Hint: "give --handler TYPE=CMD for each aggregate type the dead letters go to"}
	}
	ecfg, err := app.EngineConfig(c, cm, nil)
	if err != nil {
		return err
	}
	dir, err := pmDir(cm, name)
	if err != nil {
		return err
	}
	stop, cancel := app.SignalContext(c.Context)
	defer cancel()
	// A closed stdout must be an error to handle, not a sudden death in the
	// middle of an append.
	defer app.CatchHangup(stop, cancel, env.Stdout, false)()
	// Held so that no run of the process manager appends letters while the
	// file is rewritten.
	cfg := consumer.Config{Dir: dir, Kind: consumer.ProcessManager, Name: name}
	if err := app.ConsumerLock(c, &cfg); err != nil {
		return err
	}
	unlock, err := app.LockConsumer(stop, cfg)
	if err != nil {
		return err
	}
	defer unlock()

	pools, closePools, err := app.StartHandlers(stop, c, env, cm, routes, ecfg.Jobs)
	defer closePools()
	if err != nil {
		return err
	}
	ecfg.Routes = pools
	eng := exec.New(ecfg)
	defer eng.Close()
	// Work in hand is finished even after a stop: c.Context.
	return app.RetryDeadLetters(c.Context, pm.LettersAt(dir), eng, env.Stdout, cm.Report)
}
