package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/app"
	"github.com/fold-es/fold/lib/checkpoint"
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
	name, err := pmName(c)
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
	dir, err := pmDir(cm, name)
	if err != nil {
		return err
	}
	letters, _, err := pm.LettersAt(dir).Read()
	if err != nil {
		return app.Fatal(err)
	}
	out := bufio.NewWriter(env.Stdout)
	for _, lt := range letters {
		if lt.Err != nil {
			cm.Report.Report(app.Failure{Line: lt.Line, Kind: string(exec.KindInvalid), Message: lt.Err.Error(), Input: lt.Raw, Counts: true})
			continue
		}
		if _, err := out.Write(append(lt.Raw, '\n')); err != nil {
			return app.OutputError(err)
		}
	}
	if err := out.Flush(); err != nil {
		return app.OutputError(err)
	}
	if s := cm.Report.Status(); s != app.ExitOK {
		return app.Exit(s)
	}
	return nil
}

func runRetry(c *cli.Context, env app.Env) error {
	cm, name, err := pmArgs(c, env)
	if err != nil {
		return err
	}
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
	unlock, err := lock(stop, checkpoint.At(dir), name, c)
	if err != nil || unlock == nil {
		return err
	}
	defer unlock()

	ecfg.Routes = routes.Pools(app.HandlerBase(c, env), cm.Root.Dir, ecfg.Jobs)
	defer exec.ClosePools(ecfg.Routes)
	if err := exec.StartPools(stop, ecfg.Routes); err != nil {
		return app.HandlerStart(err)
	}
	eng := exec.New(ecfg)
	defer eng.Close()
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	var buf []byte
	letters := pm.LettersAt(dir)
	// Work in hand is finished even after a stop: the file is rewritten
	// once, at the end.
	kept, err := pm.Retry(c.Context, letters, eng, nil, func(o pm.RetryOutcome) error {
		if f := o.Failure; f != nil {
			cm.Report.Report(app.Failure{Kind: string(f.Kind), Counts: true, Input: o.Letter.Letter.Envelope,
				Message: fmt.Sprintf("dead letter on line %d: %v", o.Letter.Line, f)})
		}
		for _, r := range o.Records {
			buf = append(record.AppendRecord(buf[:0], r), '\n')
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return app.OutputError(err)
	}
	if kept > 0 {
		return &app.ExitError{Code: app.ExitFailed,
			Hint: fmt.Sprintf("%d dead letter(s) remain in %s", kept, record.Quote(letters.Path))}
	}
	return nil
}
