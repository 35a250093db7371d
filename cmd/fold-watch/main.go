// Command fold-watch prints the event records of a root's streams: what
// the logs hold, then, with --follow, each new record as it is appended.
package main

import (
	"context"
	"os"

	"github.com/fold-es/fold/lib/app"
)

func main() {
	env := app.Env{Prog: "fold-watch", Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(app.Main(context.Background(), newApp(env), os.Args, env))
}
