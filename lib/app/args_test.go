package app

import (
	"slices"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp has the shapes of flags permute tells apart: string, slice,
// bool, and a subcommand with flags of its own.
func testApp() *cli.App {
	return &cli.App{
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root"},
			&cli.StringSliceFlag{Name: "handler"},
			&cli.StringFlag{Name: "type", Aliases: []string{"t"}},
			&cli.BoolFlag{Name: "bare"},
			RebuildFlagDef("start over"),
		},
		Commands: []*cli.Command{{Name: "state", Flags: []cli.Flag{
			&cli.StringFlag{Name: "at-version"},
			&cli.StringSliceFlag{Name: "handler"},
		}}},
	}
}

func TestPermute(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args, want []string
	}{
		{"nothing", []string{"p"}, []string{"p"}},
		{"flags already first", []string{"p", "--type", "c", "in.jsonl"}, []string{"p", "--type", "c", "in.jsonl"}},
		{"a flag after an argument, with its value", []string{"p", "in.jsonl", "--handler", "c=jq -c ."}, []string{"p", "--handler", "c=jq -c .", "in.jsonl"}},
		{"a value that looks like an argument stays with its flag", []string{"p", "a", "--type", "b", "c"}, []string{"p", "--type", "b", "a", "c"}},
		{"an alias", []string{"p", "a", "-t", "b"}, []string{"p", "-t", "b", "a"}},
		{"a value attached", []string{"p", "a", "--type=b", "c"}, []string{"p", "--type=b", "a", "c"}},
		{"a boolean takes no value", []string{"p", "a", "--bare", "b"}, []string{"p", "--bare", "a", "b"}},
		{"--rebuild is boolean too", []string{"p", "a", "--rebuild", "b"}, []string{"p", "--rebuild", "a", "b"}},
		{"an unknown flag takes no value", []string{"p", "a", "--zzz", "b"}, []string{"p", "--zzz", "a", "b"}},
		{"a flag last, its value missing", []string{"p", "a", "--type"}, []string{"p", "--type", "a"}},
		{"stdin as -", []string{"p", "-", "--type", "c"}, []string{"p", "--type", "c", "-"}},
		{"-- ends the flags", []string{"p", "a", "--type", "c", "--", "--bare", "-x"}, []string{"p", "--type", "c", "a", "--", "--bare", "-x"}},
		{"-- at the end", []string{"p", "a", "--"}, []string{"p", "a"}},
		{"a subcommand's flags after its arguments", []string{"p", "state", "counter", "a", "--at-version", "2", "--handler", "counter=x"},
			[]string{"p", "state", "--at-version", "2", "--handler", "counter=x", "counter", "a"}},
		{"program flags before the subcommand stay", []string{"p", "--root", "r", "state", "counter", "a", "--at-version", "1"},
			[]string{"p", "--root", "r", "state", "--at-version", "1", "counter", "a"}},
		{"a global flag's value named like the subcommand", []string{"p", "--type", "state", "x", "--bare"},
			[]string{"p", "--type", "state", "--bare", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := permute(testApp(), tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("permute(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestUnknownFlag(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		args []string
		want *ExitError // nil: not a complaint about a flag
	}{
		{"flag provided but not defined: -hanlder", []string{"p", "--hanlder"}, &ExitError{Code: ExitUsage, Message: "unknown flag --hanlder", Hint: "did you mean --handler?"}},
		{"flag provided but not defined: -hand", []string{"p", "--hand"}, &ExitError{Code: ExitUsage, Message: "unknown flag --hand", Hint: "did you mean --handler?"}},
		{"flag provided but not defined: -rot", []string{"p", "--rot"}, &ExitError{Code: ExitUsage, Message: "unknown flag --rot", Hint: "did you mean --root?"}},
		{"flag provided but not defined: -colour", []string{"p", "--colour"}, &ExitError{Code: ExitUsage, Message: "unknown flag --colour", Hint: "see --help for the flags"}},
		// A subcommand's flags are its own: --root is not one of state's.
		{"flag provided but not defined: -at-versoin", []string{"p", "state", "--at-versoin", "1"}, &ExitError{Code: ExitUsage, Message: "unknown flag --at-versoin", Hint: "did you mean --at-version?"}},
		{"flag provided but not defined: -rot", []string{"p", "state", "--rot"}, &ExitError{Code: ExitUsage, Message: "unknown flag --rot", Hint: "see --help for the flags"}},
		{"invalid value \"x\" for flag -jobs", []string{"p"}, nil},
	} {
		got := unknownFlag(tc.msg, testApp(), tc.args)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("unknownFlag(%q, %q) = %+v, want %+v", tc.msg, tc.args, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"handler", "handler", 0},
		{"hanlder", "handler", 2},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
