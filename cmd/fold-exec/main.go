// Command fold-exec runs command envelopes through aggregate handlers and
// appends the events they decide to the store, printing their records.
package main

import (
	"context"
	"os"

	"github.com/fold-es/fold/lib/app"
)

func main() {
	env := app.Env{Prog: "fold-exec", Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(app.Main(context.Background(), newApp(env), os.Args, env))
}
