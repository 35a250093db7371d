// Command fold-pm runs process managers (sagas): it reacts to event records
// with a handler and prints the commands it returns as envelopes for
// fold-exec, or runs them itself with --dispatch.
package main

import (
	"context"
	"os"

	"github.com/fold-es/fold/lib/app"
)

func main() {
	env := app.Env{Prog: "fold-pm", Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(app.Main(context.Background(), newApp(env), os.Args, env))
}
