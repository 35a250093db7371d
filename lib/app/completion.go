package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// Shell completion is made from the program's own flags and subcommands,
// so it cannot drift from them: `PROG completion SHELL` prints a script
// that completes without running the program again (urfave/cli's dynamic
// completion runs it with the words typed so far, and a flag missing its
// value would make it run for real). `make completions` writes them into
// completions/ for `make install`.

// completionShells are the shells a script is made for.
var completionShells = []string{"bash", "zsh", "fish"}

// completionCommand is the hidden `completion SHELL` subcommand.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "SHELL",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			sh := c.Args().First()
			if c.NArg() != 1 {
				return UsageError("completion needs one of " + strings.Join(completionShells, ", "))
			}
			var err error
			tree := completionTree(c.App)
			switch sh {
			case "bash":
				err = writeBash(c.App.Writer, tree)
			case "zsh":
				err = writeZsh(c.App.Writer, tree)
			case "fish":
				err = writeFish(c.App.Writer, tree)
			default:
				return UsageError(fmt.Sprintf("no completion for shell %q (bash, zsh or fish)", sh))
			}
			return OutputError(err)
		},
	}
}

// compNode is a program or subcommand as completion sees it.
type compNode struct {
	name  string
	usage string
	flags []compFlag
	subs  []compNode
}

// compFlag is one flag: its names with dashes, whether a value follows,
// whether it may be given again.
type compFlag struct {
	names  []string
	usage  string
	value  bool
	repeat bool
}

func completionTree(a *cli.App) compNode {
	// urfave/cli adds --help to a subcommand's flags only when it runs.
	n := compNode{name: a.Name, usage: a.Usage, flags: compFlags(append(a.VisibleFlags(), cli.HelpFlag))}
	for _, cmd := range a.VisibleCommands() {
		if cmd.Name == "help" {
			continue
		}
		sub := compNode{name: cmd.Name, usage: cmd.Usage, flags: compFlags(append(cmd.VisibleFlags(), cli.HelpFlag))}
		n.subs = append(n.subs, sub)
	}
	return n
}

// compFlags describes flags, each once (the help flag may be among them).
func compFlags(flags []cli.Flag) []compFlag {
	var out []compFlag
	seen := map[string]bool{}
	for _, f := range flags {
		if seen[f.Names()[0]] {
			continue
		}
		seen[f.Names()[0]] = true
		cf := compFlag{}
		for _, name := range f.Names() {
			if len(name) == 1 {
				cf.names = append(cf.names, "-"+name)
			} else {
				cf.names = append(cf.names, "--"+name)
			}
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			cf.value, cf.usage = d.TakesValue(), d.GetUsage()
		}
		if s, ok := f.(cli.DocGenerationSliceFlag); ok {
			cf.repeat = s.IsSliceFlag()
		}
		out = append(out, cf)
	}
	return out
}

// funcName makes a shell function name of a program's name.
func funcName(prog string) string { return "_" + strings.ReplaceAll(prog, "-", "_") }

// writeBash writes a bash script: the subcommand is the first word that
// names one; after a flag that takes a value, and for arguments, bash's
// own file name completion (-o default).
func writeBash(w io.Writer, n compNode) error {
	var b strings.Builder
	fn := funcName(n.name)
	fmt.Fprintf(&b, "# bash completion for %s; made by `%s completion bash`\n", n.name, n.name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i flags values\n")
	names := subNames(n)
	if len(names) > 0 {
		b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n")
		fmt.Fprintf(&b, "\t\tcase ${COMP_WORDS[i]} in %s) cmd=${COMP_WORDS[i]}; break ;; esac\n", strings.Join(names, "|"))
		b.WriteString("\tdone\n")
	}
	b.WriteString("\tcase $cmd in\n")
	bashCase := func(label string, flags []compFlag) {
		var all, vals []string
		for _, f := range flags {
			all = append(all, f.names...)
			if f.value {
				vals = append(vals, f.names...)
			}
		}
		fmt.Fprintf(&b, "\t%s) flags='%s' values=' %s ' ;;\n", label, strings.Join(all, " "), strings.Join(vals, " "))
	}
	bashCase(`""`, n.flags)
	for _, s := range n.subs {
		bashCase(s.name, s.flags)
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $values == *\" $prev \"* ]]; then\n\t\tCOMPREPLY=()\n\telif [[ $cur == -* ]]; then\n")
	b.WriteString("\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n")
	if len(names) > 0 {
		fmt.Fprintf(&b, "\telif [[ -z $cmd ]]; then\n\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n", strings.Join(names, " "))
	}
	b.WriteString("\telse\n\t\tCOMPREPLY=()\n\tfi\n}\n")
	fmt.Fprintf(&b, "complete -o default -F %s %s\n", fn, n.name)
	_, err := io.WriteString(w, b.String())
	return err
}

func subNames(n compNode) []string {
	var out []string
	for _, s := range n.subs {
		out = append(out, s.name)
	}
	return out
}

// writeZsh writes a #compdef function for zsh's completion system, with
// each flag's usage as its description.
func writeZsh(w io.Writer, n compNode) error {
	var b strings.Builder
	fn := "_" + n.name
	fmt.Fprintf(&b, "#compdef %s\n# zsh completion for %s; made by `%s completion zsh`\n\n", n.name, n.name, n.name)
	fmt.Fprintf(&b, "%s() {\n\tlocal curcontext=$curcontext state line ret=1\n\ttypeset -A opt_args\n", fn)
	b.WriteString("\t_arguments -C")
	zshFlags(&b, n.flags, "\t\t")
	if len(n.subs) > 0 {
		b.WriteString(" \\\n\t\t'1: :->command' \\\n\t\t'*:: :->args' && ret=0\n")
		b.WriteString("\tcase $state in\n\tcommand)\n\t\tlocal -a cmds=(\n")
		for _, s := range n.subs {
			fmt.Fprintf(&b, "\t\t\t%s\n", zshQuote(s.name+":"+s.usage))
		}
		b.WriteString("\t\t)\n\t\t_describe -t commands command cmds && ret=0\n\t\t_files && ret=0\n\t\t;;\n")
		b.WriteString("\targs)\n\t\tcurcontext=${curcontext%:*:*}:" + n.name + "-$line[1]:\n\t\tcase $line[1] in\n")
		for _, s := range n.subs {
			fmt.Fprintf(&b, "\t\t%s)\n\t\t\t_arguments", s.name)
			zshFlags(&b, s.flags, "\t\t\t\t")
			b.WriteString(" \\\n\t\t\t\t'*: :_files' && ret=0\n\t\t\t;;\n")
		}
		b.WriteString("\t\t*) _files && ret=0 ;;\n\t\tesac\n\t\t;;\n\tesac\n")
	} else {
		b.WriteString(" \\\n\t\t'*: :_files' && ret=0\n")
	}
	fmt.Fprintf(&b, "\treturn ret\n}\n\n%s \"$@\"\n", fn)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshFlags writes _arguments specs, one per line: each name of a flag
// excludes the others, a value flag takes its value in the same word
// after = or in the next, and a repeatable one may come again.
func zshFlags(b *strings.Builder, flags []compFlag, indent string) {
	desc := func(s string) string {
		return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(firstLine(s))
	}
	for _, f := range flags {
		for _, name := range f.names {
			spec := ""
			if len(f.names) > 1 && !f.repeat {
				spec = "(" + strings.Join(f.names, " ") + ")"
			}
			if f.repeat {
				spec = "*"
			}
			spec += name
			if f.value && strings.HasPrefix(name, "--") {
				spec += "="
			}
			spec += "[" + desc(f.usage) + "]"
			if f.value {
				spec += ": :_files"
			}
			fmt.Fprintf(b, " \\\n%s%s", indent, zshQuote(spec))
		}
	}
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// firstLine keeps a usage to one line without backquotes, which urfave/cli
// uses to name a flag's value.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.ReplaceAll(s, "`", "")
}

// writeFish writes fish `complete` lines: the subcommands until one is
// given, then that subcommand's flags; -r for a flag that takes a value.
func writeFish(w io.Writer, n compNode) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fish completion for %s; made by `%s completion fish`\n", n.name, n.name)
	names := strings.Join(subNames(n), " ")
	top := ""
	if names != "" {
		top = fmt.Sprintf(" -n 'not __fish_seen_subcommand_from %s'", names)
	}
	fishFlags(&b, n.name, top, n.flags)
	for _, s := range n.subs {
		fmt.Fprintf(&b, "complete -c %s%s -f -a %s -d %s\n", n.name, top, s.name, fishQuote(firstLine(s.usage)))
		fishFlags(&b, n.name, fmt.Sprintf(" -n '__fish_seen_subcommand_from %s'", s.name), s.flags)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fishFlags(b *strings.Builder, prog, cond string, flags []compFlag) {
	for _, f := range flags {
		fmt.Fprintf(b, "complete -c %s%s", prog, cond)
		for _, name := range f.names {
			if strings.HasPrefix(name, "--") {
				fmt.Fprintf(b, " -l %s", name[2:])
			} else {
				fmt.Fprintf(b, " -s %s", name[1:])
			}
		}
		if f.value {
			b.WriteString(" -r")
		}
		fmt.Fprintf(b, " -d %s\n", fishQuote(firstLine(f.usage)))
	}
}

// fishQuote single-quotes s for fish, where \ and ' are escaped inside.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
