package app

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// permute moves the flags given after a command's arguments in front of
// them, as GNU getopt does, so that `fold-exec state counter a --handler
// counter=CMD` means what it says: urfave/cli, like Go's flag package,
// stops at the first argument and would take --handler for one. The
// program's own flags and those of the subcommand named (if any) are
// known, so a flag's value moves with it; "--" ends the flags, and what
// follows it stays an argument.
func permute(a *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	flags := a.Flags
	rest := args[1:]
	out := []string{args[0]}
	// Global flags, then perhaps a subcommand: its flags are its own.
	for i := 0; i < len(rest); i++ {
		t := rest[i]
		if t == "--" || !isFlag(t) {
			if cmd := a.Command(t); cmd != nil {
				out = append(out, rest[:i+1]...)
				return append(out, reorder(rest[i+1:], cmd.Flags)...)
			}
			break
		}
		if takesValue(t, flags) {
			i++
		}
	}
	return append(out, reorder(rest, flags)...)
}

// reorder puts flags (with their values) before arguments.
func reorder(tokens []string, flags []cli.Flag) []string {
	var fl, pos []string
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t == "--":
			if len(tokens[i+1:]) > 0 {
				pos = append(pos, "--")
				pos = append(pos, tokens[i+1:]...)
			}
			return append(fl, pos...)
		case isFlag(t):
			fl = append(fl, t)
			if takesValue(t, flags) && i+1 < len(tokens) {
				i++
				fl = append(fl, tokens[i])
			}
		default:
			pos = append(pos, t)
		}
	}
	return append(fl, pos...)
}

func isFlag(t string) bool { return len(t) > 1 && t[0] == '-' }

// takesValue reports whether flag token t is a known flag that takes the
// next token as its value (not a boolean, no "=value" attached).
func takesValue(t string, flags []cli.Flag) bool {
	name := strings.TrimLeft(t, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := find(flags, name)
	if f == nil {
		return false
	}
	switch v := f.(type) {
	case *cli.BoolFlag:
		return false
	case *cli.GenericFlag:
		if b, ok := v.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return false
		}
	}
	return true
}

func find(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// unknownFlag turns the flag parser's "flag provided but not defined: -x"
// into a message with two dashes and the nearest known flag.
func unknownFlag(msg string, a *cli.App, args []string) *ExitError {
	const prefix = "flag provided but not defined: -"
	if !strings.HasPrefix(msg, prefix) {
		return nil
	}
	name := strings.TrimPrefix(msg, prefix)
	flags := a.Flags
	for _, t := range args[1:] {
		if cmd := a.Command(t); cmd != nil && !isFlag(t) {
			flags = cmd.Flags
			break
		}
	}
	e := UsageError("unknown flag --" + name)
	best, bestDist := "", 3 // suggest only what is close
	for _, f := range flags {
		for _, n := range f.Names() {
			d := editDistance(name, n)
			if strings.HasPrefix(n, name) {
				d = min(d, 1)
			}
			if d < bestDist {
				best, bestDist = n, d
			}
		}
	}
	if best != "" {
		e.Hint = fmt.Sprintf("did you mean --%s?", best)
	} else {
		e.Hint = "see --help for the flags"
	}
	return e
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
