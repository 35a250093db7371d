package handler

import (
	"fmt"
	"io"
	"time"
)

// Config says how to run a handler.
type Config struct {
	Command string        // run with /bin/sh -c
	Env     []string      // added to the inherited environment (FOLD_ROLE, FOLD_ROOT, ...); FOLD_PROTOCOL=1 is always added
	Timeout time.Duration // for each request; 0 means none
	Startup time.Duration // added to Timeout for the first request of each process, which waits for its start-up; 0 means DefaultStartup
	Stderr  io.Writer     // the handler's stderr goes here; nil discards it
	Debug   io.Writer     // if set, every request and answer line is copied here (FOLD_DEBUG=protocol)
	Name    string        // names the handler in errors, e.g. `handler "counter"`; default: the command, quoted
}

// DefaultStartup is how long a handler process gets to start, on top of
// Config.Timeout for its first request: an interpreter behind a shim, or any
// handler on a loaded machine, can take seconds before it reads anything,
// and that must not fail every command it would then answer at once.
const DefaultStartup = 10 * time.Second

func (c Config) startup() time.Duration {
	if c.Startup > 0 {
		return c.Startup
	}
	return DefaultStartup
}

// Prefixes of the protocol debug copy (FOLD_DEBUG=protocol): > is what fold
// sent, < what the handler answered.
const (
	debugRequest = "fold: protocol > "
	debugAnswer  = "fold: protocol < "
)

func (c Config) name() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("handler %q", c.Command)
}

// debug copies one protocol line to c.Debug in a single Write, so lines from
// the processes of a Pool sharing one writer do not interleave. Its errors are
// ignored: a broken debug copy must not fail requests.
func (c Config) debug(prefix string, line []byte) {
	if c.Debug == nil {
		return
	}
	b := make([]byte, 0, len(prefix)+len(line)+1)
	b = append(append(append(b, prefix...), line...), '\n')
	_, _ = c.Debug.Write(b)
}
