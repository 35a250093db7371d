package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/store"
)

// --store and $FOLD_STORE take a nats:// URL; anything else is a usage
// error before any connection is tried.
func TestStoreFlag(t *testing.T) {
	const hint = "prog: hint: the file store is the root directory: give --root DIR instead\n"
	for _, tc := range []struct {
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{nil, nil, 0, ""},
		{nil, []string{"--store", "fold-data"}, ExitUsage, "prog: error: --store \"fold-data\" is not nats://HOST:PORT[/NAME]\n" + hint},
		{map[string]string{"FOLD_STORE": "http://x:4222"}, nil, ExitUsage, "prog: error: FOLD_STORE \"http://x:4222\" is not nats://HOST:PORT[/NAME]\n" + hint},
		{map[string]string{"FOLD_STORE": "nats://x:4222"}, []string{"--store", "/tmp/s"}, ExitUsage, "prog: error: --store \"/tmp/s\" is not nats://HOST:PORT[/NAME]\n" + hint},
	} {
		var cm Common
		code, stderr := parse(t, tc.env, CommonFlags(), func(c *cli.Context, env Env) (err error) {
			cm, err = ParseCommon(c, env)
			return err
		}, tc.args...)
		if code != tc.code || stderr != tc.stderr {
			t.Errorf("%v %q: exit %d, stderr %q; want %d, %q", tc.env, tc.args, code, stderr, tc.code, tc.stderr)
		}
		if code == 0 && (cm.Store != store.Store(cm.Root) || cm.Close() != nil) {
			t.Errorf("without --store the streams are the root's: %v", cm.Store.Location())
		}
	}
}

// A store that cannot be reached is "run again later", whichever path
// the error takes to the exit.
func TestStoreUnavailable(t *testing.T) {
	down := fmt.Errorf("connect nats://x:4222: %w", store.ErrUnavailable)
	const hint = "is nats-server running there (with -js)? nothing was half-written: run again once it answers"
	if e := Fatal(down); e.Code != ExitRetryable || e.Message != down.Error() || e.Hint != hint {
		t.Errorf("Fatal of an outage: %+v, want 75", e)
	}
	if e := Fatal(errors.New("refused")); e.Code != ExitFatal || e.Hint != "" {
		t.Errorf("Fatal of another error: %+v, want 3", e)
	}
	code, stderr := parse(t, nil, nil, func(*cli.Context, Env) error { return down })
	if code != ExitRetryable || stderr != "prog: error: "+down.Error()+"\nprog: hint: "+hint+"\n" {
		t.Errorf("Main with an outage: exit %d, stderr %q", code, stderr)
	}
}

func TestHandlerStart(t *testing.T) {
	if HandlerStart(nil) != nil || HandlerStart(fmt.Errorf("start: %w", context.Canceled)) != nil {
		t.Error("nothing to report, or a stop, is no error")
	}
	se := &handler.StartError{Handler: `handler "x"`, Reason: "command not found", Hint: "check the program's name"}
	e, ok := errors.AsType[*ExitError](HandlerStart(fmt.Errorf("pool: %w", se)))
	if want := (ExitError{Code: ExitFatal, Message: `handler "x" cannot start: command not found`, Hint: "check the program's name"}); !ok || *e != want {
		t.Errorf("a handler that cannot start: %+v, want %+v", e, want)
	}
	if e, ok := errors.AsType[*ExitError](HandlerStart(errors.New("fork: no memory"))); !ok || e.Code != ExitFatal {
		t.Errorf("another error: %+v, want fatal", e)
	}
}
