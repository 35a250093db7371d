#!/usr/bin/env bats
# Every example a user is shown runs verbatim from the repository's root:
# those in each program's and subcommand's --help (EXAMPLES:), in the man
# pages' EXAMPLES sections, and the ```sh blocks of README.md and docs/*.md.
# They are extracted, not listed here, so an example added or edited later
# is tested too. The examples of one source run in order, in one scratch
# directory laid out like the repository (examples/ and bin/ there, the
# root ./fold-data) and seeded with counters and orders so that each does
# something. Each must exit 0; an example that follows (--follow) is
# stopped with SIGTERM after a while and must exit 0 too. Examples that
# run make (the README's make test) are the build's, not fold's: skipped.
# The examples of a source that names nats://127.0.0.1:4222 run with a
# nats-server there, the documented address.

load helpers

PROGS=(fold-exec fold-watch fold-project fold-pm)
SAGA=$REPO/examples/saga

setup_file() {
	on_nats && return 0 # the examples choose their store themselves
	fold_setup_file || return 1
	EXAMPLES=$BATS_FILE_TMPDIR/examples
	export EXAMPLES
	mkdir -p "$EXAMPLES"
	local p sub f
	for p in "${PROGS[@]}"; do
		for sub in "" $(subcommands "$p"); do
			"$p" $sub --help | help_examples "$EXAMPLES" "help-$p${sub:+-$sub}"
		done
	done
	for f in "$REPO"/man/*.1.md; do
		man_examples "$EXAMPLES" "man-$(basename "$f" .1.md)" "$f"
	done
	md_examples "$EXAMPLES" md-README "$REPO/README.md"
	for f in "$REPO"/docs/*.md; do
		md_examples "$EXAMPLES" "md-docs-$(basename "$f" .md)" "$f"
	done
}

# subcommands PROG: the subcommands PROG --help lists (not help).
subcommands() {
	"$1" --help | awk '/^COMMANDS:/ { on = 1; next } on && !NF { exit }
		on { sub(/,$/, "", $1); if ($1 != "help") print $1 }'
}

# Each extractor writes the examples it finds into DIR as PREFIX-N.sh.

# help_examples DIR PREFIX: the EXAMPLES: section of --help text on stdin,
# one example per block of lines indented under it (blocks are separated
# by blank lines).
help_examples() {
	awk -v dir="$1" -v pre="$2" '
		function indent(s) { match(s, /^ */); return RLENGTH }
		function flush() { if (buf != "") { n++; f = dir "/" pre "-" n ".sh"; printf "%s", buf > f; close(f) } buf = "" }
		/^ *EXAMPLES:/ { ind = indent($0); on = 1; next }
		on && NF && indent($0) <= ind { flush(); on = 0 }
		!on { next }
		!NF { flush(); next }
		{ buf = buf substr($0, ind + 4) "\n" }
		END { flush() }'
}

# man_examples DIR PREFIX FILE: the indented blocks of the EXAMPLES section
# of a man page's source (man/*.1.md).
man_examples() {
	awk -v dir="$1" -v pre="$2" '
		function flush() { if (buf != "") { n++; f = dir "/" pre "-" n ".sh"; printf "%s", buf > f; close(f) } buf = "" }
		/^EXAMPLES$/ { on = 1; getline; next }
		on && /^[A-Z][A-Z ]*$/ { flush(); on = 0 }
		!on { next }
		/^    / { buf = buf substr($0, 5) "\n"; next }
		{ flush() }
		END { flush() }' "$3"
}

# md_examples DIR PREFIX FILE: the ```sh blocks of a markdown file.
md_examples() {
	awk -v dir="$1" -v pre="$2" '
		/^```sh$/ { on = 1; buf = ""; next }
		on && /^```/ { on = 0; n++; f = dir "/" pre "-" n ".sh"; printf "%s", buf > f; close(f); next }
		on { buf = buf $0 "\n" }' "$3"
}

setup() {
	fold_setup
	skip_on_nats "the examples choose their store themselves"
}

# seed: the scratch directory as the repository's root, with a root
# holding counters (alpha has 4 events: Incremented x3, WasReset) and the
# saga's first steps (widgets and gadgets stocked, two orders placed).
seed() {
	repo_like
	ln -s "$BIN" bin
	{
		envelopes alpha Increment 3
		envelope alpha Reset
		envelope beta Increment
	} | fold-exec --handler counter="$COUNTER_JQ" >/dev/null
	fold-exec --handler order="jq --unbuffered -c -f $(sq "$SAGA/order.jq")" \
		--handler inventory="sh $(sq "$SAGA/inventory.sh")" >/dev/null <<'JSONL'
{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":5}}}
{"aggregate_type":"inventory","instance_id":"gadget","command":{"type":"Stock","data":{"qty":1}}}
{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}},"context":{"actor":"alice"}}
{"aggregate_type":"order","instance_id":"o-2","command":{"type":"Place","data":{"sku":"gadget","qty":3}}}
JSONL
}

# run_example FILE: runs an example with bash -e -o pipefail (so a
# failing program is not hidden in the middle of a pipe), stdin empty, and
# returns its exit status. One that follows (--follow, -f) gets 3
# seconds, then SIGTERM to each fold program the shell started: it must
# stop cleanly (0), and what reads its output with it.
run_example() {
	local ex=$1 pid kid deadline=120
	if grep -qE -- '--follow|(^| )-f( |$)' "$ex"; then
		deadline=3
	fi
	# "; exit": so the shell stays, and its children are the example's
	bash -e -o pipefail -c "$(cat "$ex")
exit \$?" </dev/null >"$ex.out" 2>&1 3>&- &
	pid=$!
	for ((t = 0; t < deadline * 10; t++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		# the fold programs: what reads their output ends with its input
		for kid in $(ps -o pid=,comm= --ppid "$pid" | awk '$2 ~ /^fold-/ { print $1 }'); do
			kill -TERM "$kid" 2>/dev/null
		done
		for ((t = 0; t < 300; t++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" && echo "[did not stop on SIGTERM]" >>"$ex.out"
	fi
	wait "$pid"
}

# run_examples PREFIX: runs the examples PREFIX-1.sh, PREFIX-2.sh, … in
# order in a seeded scratch directory; fails naming every one that failed,
# with its text and output. Prints how many ran.
run_examples() {
	local prefix=$1 ex n=0 status failed=""
	mkdir -p "$BATS_TEST_TMPDIR/$prefix" && cd "$BATS_TEST_TMPDIR/$prefix" || return 1
	seed
	if cat "$EXAMPLES/$prefix"-*.sh 2>/dev/null | grep -q 'nats://127.0.0.1:4222'; then
		# its stdout is not the caller's $(...), which would wait for it
		nats_start "$PWD/.nats" 4222 >/dev/null || {
			echo "examples of $prefix: no nats-server on 127.0.0.1:4222 (is one running there already?)"
			return 1
		}
	fi
	for ex in $(ls "$EXAMPLES/$prefix"-*.sh 2>/dev/null | sort -V); do
		if grep -q '^make ' "$ex"; then
			continue # the build's own commands
		fi
		cp "$ex" "./$(basename "$ex")"
		ex=./$(basename "$ex")
		n=$((n + 1))
		status=0
		run_example "$ex" || status=$?
		if [[ $status -ne 0 ]]; then
			failed+=$'\n'"--- $(basename "$ex") exited $status:"$'\n'"$(cat "$ex")"$'\n'"output:"$'\n'"$(head -c 2000 "$ex.out")"
		fi
	done
	nats_stop
	if [[ -n $failed ]]; then
		echo "examples of $prefix failed:$failed"
		return 1
	fi
	echo "$n"
}

@test "examples: every --help example of every program and subcommand runs from the repository root" {
	local p sub ran total=0 failed=""
	for p in "${PROGS[@]}"; do
		for sub in "" $(subcommands "$p"); do
			ran=$(run_examples "help-$p${sub:+-$sub}") || { failed+=$'\n'$ran; continue; }
			total=$((total + ran))
		done
	done
	[[ -z $failed ]] || fail "$failed"
	# every program shows some
	for p in "${PROGS[@]}"; do
		ls "$EXAMPLES/help-$p-"*.sh >/dev/null || fail "$p --help shows no example"
	done
	[[ $total -ge 10 ]] || fail "only $total --help examples found"
}

@test "examples: every man page's EXAMPLES run from the repository root" {
	local f name ran failed=""
	for f in "$REPO"/man/*.1.md; do
		name=$(basename "$f" .1.md)
		ran=$(run_examples "man-$name") || { failed+=$'\n'$ran; continue; }
		[[ $ran -ge 2 ]] || failed+=$'\n'"man page $name: only $ran examples found"
	done
	[[ -z $failed ]] || fail "$failed"
}

@test "examples: the README's and docs/*.md's sh blocks run from the repository root" {
	local f ran failed=""
	ran=$(run_examples md-README) || failed+=$'\n'$ran
	[[ -n $failed || $ran -ge 2 ]] || failed+=$'\n'"README.md: only $ran examples found"
	for f in "$REPO"/docs/*.md; do
		ran=$(run_examples "md-docs-$(basename "$f" .md)") || failed+=$'\n'$ran
	done
	[[ -z $failed ]] || fail "$failed"
}

@test "examples: the extractors find examples in each form, and a failing one fails" {
	mkdir found
	printf '%s\n' 'DESCRIPTION:' '   EXAMPLES:' '      echo one |' '        cat' '' '      false' '' '   EXIT STATUS:' '      0 ok' |
		help_examples found help-fake
	printf '%s\n' 'EXAMPLES' '--------' 'First:' '' '    echo two' '' 'FILES' '-----' '    not an example' >fake.1.md
	man_examples found man-fake fake.1.md
	printf '%s\n' '# doc' '```sh' 'echo three' '```' '```json' '{}' '```' >fake.md
	md_examples found md-fake fake.md
	run cat found/help-fake-1.sh found/help-fake-2.sh found/man-fake-1.sh found/md-fake-1.sh
	assert_output $'echo one |\n  cat\nfalse\necho two\necho three'
	[[ ! -e found/man-fake-2.sh && ! -e found/md-fake-2.sh ]]

	EXAMPLES=$PWD/found
	run run_examples help-fake
	assert_failure
	assert_output --partial 'help-fake-2.sh exited 1'
	refute_output --partial 'help-fake-1.sh exited'
	run run_examples md-fake
	assert_success
	assert_output 1
}
