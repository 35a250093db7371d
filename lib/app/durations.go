package app

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
)

// CheckDurations refuses a negative value in any duration flag given to c's
// command or to the commands above it (--lock-timeout -5s, --poll -1s): a
// usage error naming the flag and the value. urfave/cli parses them
// happily, and each consumer would read them its own way (a wait that
// never waits, a ticker that panics). Zero keeps its documented meaning.
func CheckDurations(c *cli.Context) error {
	for _, lc := range c.Lineage() {
		for _, name := range lc.LocalFlagNames() {
			if d, ok := lc.Value(name).(time.Duration); ok && d < 0 {
				return &ExitError{Code: ExitUsage, Message: fmt.Sprintf("--%s %s is negative", name, d),
					Hint: "give a length of time, e.g. --" + name + " 5s"}
			}
		}
	}
	return nil
}
