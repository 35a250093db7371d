package app

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/jetstream"
)

// storeFlag chooses where streams live; the root stays where consumers
// keep their state.
func storeFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Usage: "where streams live: nats://HOST:PORT[/NAME][?replicas=N] for NATS JetStream (default $FOLD_STORE, else the root directory)"}
}

// openStore opens the store --store or $FOLD_STORE names, or returns the
// root when neither is given. A server that cannot be reached is exit
// 75 (try again later), one that refuses is exit 3.
func openStore(c *cli.Context, env Env, root store.Root) (store.Store, func() error, error) {
	from, u := "--store", c.String("store")
	if u == "" {
		from, u = "FOLD_STORE", env.Getenv("FOLD_STORE")
	}
	if u == "" {
		return root, func() error { return nil }, nil
	}
	if !jetstream.IsURL(u) {
		return nil, nil, &ExitError{Code: ExitUsage, Message: fmt.Sprintf("%s %s is not nats://HOST:PORT[/NAME]", from, record.Quote(u)),
			Hint: "the file store is the root directory: give --root DIR instead"}
	}
	cfg, err := jetstream.ParseURL(u)
	if err != nil {
		return nil, nil, UsageError(from + ": " + err.Error())
	}
	st, err := jetstream.Open(c.Context, cfg, env.Prog)
	if err != nil {
		return nil, nil, storeError(err)
	}
	return st, st.Close, nil
}

// storeError is the exit for a store that failed: 75 when it could not be
// reached (the run may be tried again as it is), else 3.
func storeError(err error) *ExitError {
	if errors.Is(err, store.ErrUnavailable) {
		return &ExitError{Code: ExitRetryable, Message: err.Error(),
			Hint: "is nats-server running there (with -js)? nothing was half-written: run again once it answers"}
	}
	return &ExitError{Code: ExitFatal, Message: err.Error()}
}
