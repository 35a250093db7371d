#!/usr/bin/env bats
# make install and shell completion as a user meets them: the programs,
# man pages and completions land under PREFIX (and DESTDIR), and each
# shell's script completes the subcommands and flags of every program.

load helpers

PROGS=(fold-exec fold-watch fold-project fold-pm)

# make_here ARGS: make in the repository, without the calling make's flags.
make_here() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$REPO" "$@"; }

# bash_complete PROG WORDS...: what the installed bash script offers for
# the last word (COMPREPLY, one per line).
bash_complete() {
	local script=$1
	shift
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		fn=$(complete -p "$1" | sed -n "s/.* -F \([^ ]*\) .*/\1/p"); "$fn"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}

@test "install: make install PREFIX=... DESTDIR=... puts programs, man pages and completions in place" {
	run make_here install PREFIX=/opt/fold DESTDIR="$PWD/stage"
	assert_success
	local p top=$PWD/stage/opt/fold
	for p in "${PROGS[@]}"; do
		[[ -x $top/bin/$p ]] || fail "$top/bin/$p is not there"
		[[ -s $top/share/man/man1/$p.1 ]] || fail "no man page for $p"
		[[ -s $top/share/bash-completion/completions/$p ]] || fail "no bash completion for $p"
		[[ -s $top/share/zsh/site-functions/_$p ]] || fail "no zsh completion for $p"
		[[ -s $top/share/fish/vendor_completions.d/$p.fish ]] || fail "no fish completion for $p"
	done
	[[ -s $top/share/doc/fold/protocol.md && -s $top/share/doc/fold/schema/record.json ]] || fail "no docs"
	run "$top/bin/fold-exec" --version
	assert_success
	assert_output --partial 'fold-exec version'
	run bash -c "source '$top/share/bash-completion/completions/fold-exec' && complete -p fold-exec"
	assert_success
	assert_output 'complete -o default -F _fold_exec fold-exec'
	[[ ! -e /opt/fold ]] # DESTDIR is honoured

	run make_here uninstall PREFIX=/opt/fold DESTDIR="$PWD/stage"
	assert_success
	[[ -z $(find "$top" -type f) ]] || fail "left behind: $(find "$top" -type f)"
}

@test "completion: bash completes every program's subcommands and flags, and files for values" {
	local p script sub
	for p in "${PROGS[@]}"; do
		script=$PWD/$p.bash
		"$p" completion bash >"$script"
		run bash_complete "$script" "$p" --ro
		assert_output --root
		# every subcommand --help lists is offered, and its own flags after it
		for sub in $("$p" --help | awk '/^COMMANDS:/ { on = 1; next } on && /^ *$/ { exit } on { sub(/,$/, "", $1); print $1 }'); do
			[[ $sub == help ]] && continue
			run bash_complete "$script" "$p" "${sub:0:3}"
			assert_line "$sub"
			run bash_complete "$script" "$p" "$sub" --he
			assert_output --help
		done
	done
	script=$PWD/fold-exec.bash
	run bash_complete "$script" fold-exec check --re
	assert_output --repair
	# after a flag that takes a value, nothing: bash's file names (-o default)
	run bash_complete "$script" fold-exec --root ''
	assert_output ''
	run bash_complete "$script" fold-exec --bare ''
	assert_line check
}

@test "completion: zsh and fish load the scripts and complete from them" {
	local p
	mkdir zsh
	for p in "${PROGS[@]}"; do
		"$p" completion zsh >"zsh/_$p"
		"$p" completion fish >"$p.fish"
	done
	if command -v zsh >/dev/null; then
		for p in "${PROGS[@]}"; do zsh -n "zsh/_$p" || fail "zsh -n zsh/_$p"; done
		run zsh -f -c "fpath=($PWD/zsh \$fpath); autoload -U compinit; compinit -u -d $PWD/zcompdump; print \${_comps[fold-exec]} \${_comps[fold-pm]}"
		assert_output '_fold-exec _fold-pm'
	fi
	if command -v fish >/dev/null; then
		run fish -c "source fold-exec.fish; complete -C 'fold-exec check --re'; complete -C 'fold-exec st'"
		assert_line --partial $'--repair\tcut torn tails'
		assert_line --regexp $'^state\t'
		assert_line --regexp $'^streams\t'
	fi
	command -v zsh >/dev/null && command -v fish >/dev/null || skip "zsh or fish is not installed"
}

@test "completion: an unknown shell is a usage error" {
	run --separate-stderr fold-exec completion tcsh
	assert_failure 2
	assert_stderr 'fold-exec: error: no completion for shell "tcsh" (bash, zsh or fish)'
}
