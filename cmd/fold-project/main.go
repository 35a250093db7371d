// Command fold-project folds event records into a read model through a
// projection handler, keeping its state and cursors in a checkpoint.
package main

import (
	"context"
	"os"

	"github.com/fold-es/fold/lib/app"
)

func main() {
	env := app.Env{Prog: "fold-project", Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(app.Main(context.Background(), newApp(env), os.Args, env))
}
