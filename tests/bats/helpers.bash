# helpers.bash: what every fold bats suite shares. Load it first:
#
#   load helpers
#
# and it gives each test a fresh, empty root and the fold programs on PATH:
#
#   REPO            the repository's top directory
#   BIN             $REPO/bin, put first on PATH (build it: make build)
#   HANDLERS        tests/bats/handlers: small handlers and tools for tests
#   ROOT            a fresh root for this test (not created: writers do that);
#                   exported as FOLD_ROOT, so `fold-exec` needs no --root
#   EVENTFOLD_ROOT  the root eventfold-es 0.2.0 wrote (read only: copy it with
#                   copy_eventfold_root)
#   COUNTER_JQ, COUNTER_SH, COUNTER_GO
#                   command lines of the three counter handlers in examples/
#                   (jq, POSIX sh, Go); COUNTER picks the one the helpers
#                   below use (default COUNTER_JQ)
#   FOLDCHECK       a checker that reads roots as eventfold does (see
#                   handlers/foldcheck.go), built once per bats run (by
#                   fold_setup_file, or on first use)
#
# Each test runs in its own $BATS_TEST_TMPDIR, which is also the cwd. This
# file defines setup and setup_file; a suite that needs its own calls
# fold_setup / fold_setup_file from it:
#
#   setup() { fold_setup; my_things; }
#
# Run results: use `run --separate-stderr`, then assert_success /
# assert_failure N and assert_output on stdout, assert_stderr /
# refute_stderr / assert_stderr_line on stderr (bats-assert has none).
# Beware: in bats 1.8, `run --separate-stderr` sets a variable named i (its
# version check leaks it, even into your `local i`): loop with another name.
#
# Background processes: start programs (not shell functions, whose $! would
# be a subshell) with spawn, which closes fd 3 so bats does not wait for
# them and has teardown kill them should the test fail first:
#
#   spawn fold-exec --handler counter="$COUNTER" <in.fifo >out 2>err
#   kill -TERM "$SPAWNED"
#
# or, for a pipeline, close fd 3 on each part and track the last one:
#
#   yes "$line" 3>&- | fold-exec ... 3>&- & track $!

bats_require_minimum_version 1.5.0

load "${FOLD_BATS_LIB:-/usr/lib/bats}/bats-support/load"
load "${FOLD_BATS_LIB:-/usr/lib/bats}/bats-assert/load"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$REPO/bin
HANDLERS=$REPO/tests/bats/handlers
PATH=$BIN:$PATH
# The fixtures: $FOLD_FIXTURES, else the repository's testdata/ (data the
# real eventfold-es 0.2.0 wrote).
FOLD_FIXTURES=${FOLD_FIXTURES:-$REPO/testdata}
EVENTFOLD_ROOT=$FOLD_FIXTURES/eventfold-es-0.2.0/counter-root
FOLDCHECK=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/foldcheck

# Handler command lines are run by /bin/sh -c: quote the paths for it.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
COUNTER_JQ="jq --unbuffered -c -f $(sq "$REPO/examples/counter/counter.jq")"
COUNTER_SH="sh $(sq "$REPO/examples/counter/counter.sh")"
COUNTER_GO=$(sq "$BIN/counter-go")
COUNTER=${COUNTER:-$COUNTER_JQ}

# fold_setup_file checks that the programs were built and builds FOLDCHECK;
# with FOLD_TEST_STORE=nats it starts the file's nats-server.
fold_setup_file() {
	local p
	for p in fold-exec counter-go; do
		[[ -x $BIN/$p ]] || {
			echo "# $BIN/$p is missing: run make build first" >&3
			return 1
		}
	done
	build_foldcheck || return 1
	if on_nats; then
		nats_start "$BATS_FILE_TMPDIR/nats" || return 1
	fi
}

# fold_teardown_file stops what fold_setup_file started.
fold_teardown_file() { nats_stop; }

# --- NATS JetStream -----------------------------------------------------------
#
# FOLD_TEST_STORE=nats runs the suites on NATS JetStream (make bats-nats):
# each file gets a nats-server of its own (NATS_URL), each test a store of
# its own on it, named in FOLD_STORE, so every program uses it and $ROOT
# keeps only consumers' state. A test that looks at the files of streams
# under $ROOT/streams calls skip_on_nats first: the subset that runs is
# everything else.

on_nats() { [[ ${FOLD_TEST_STORE:-} == nats ]]; }

# skip_on_nats [WHY]: skip this test on JetStream.
skip_on_nats() {
	if on_nats; then skip "on NATS: ${1:-reads the files under \$ROOT/streams}"; fi
}

# nats_server: the nats-server binary ($NATS_SERVER, .cache/bin, PATH).
nats_server() {
	if [[ -n ${NATS_SERVER:-} ]]; then
		echo "$NATS_SERVER"
	elif [[ -x $REPO/.cache/bin/nats-server ]]; then
		echo "$REPO/.cache/bin/nats-server"
	else
		command -v nats-server
	fi
}

# nats_start DIR [PORT [ARGS]]: a nats-server with JetStream on PORT (a
# free 127.0.0.1 port if not given or -1), its storage and log in DIR;
# sets NATS_PID and NATS_URL once it answers.
nats_start() {
	local dir=$1 port=${2:--1} bin ports i
	shift $(($# < 2 ? $# : 2))
	bin=$(nats_server) || {
		echo "# no nats-server: run make nats-server" >&3
		return 1
	}
	mkdir -p "$dir"
	rm -f "$dir"/*.ports
	"$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir/sd" --ports_file_dir "$dir" -l "$dir/log" "$@" </dev/null 3>&- &
	NATS_PID=$!
	for ((i = 0; i < 500; i++)); do
		ports=$(cat "$dir"/*.ports 2>/dev/null) && [[ -n $ports ]] && break
		sleep 0.02
	done
	NATS_URL=$(jq -r '.nats[0]' <<<"$ports") || return 1
	export NATS_URL NATS_PID
	# Ready when JetStream answers: listing the streams of a store does.
	for ((i = 0; i < 500; i++)); do
		fold-exec streams --store "$NATS_URL/ready" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "# nats-server at $NATS_URL did not get ready: $dir/log" >&3
	return 1
}

# nats_setup_file: for a file whose tests always need a nats-server: starts
# the file's own unless FOLD_TEST_STORE=nats did. Without a binary its
# tests skip (nats_setup says so), unless FOLD_REQUIRE_NATS=1.
nats_setup_file() {
	fold_setup_file || return 1
	on_nats && return 0
	if [[ -z $(nats_server) ]]; then
		if [[ ${FOLD_REQUIRE_NATS:-} == 1 ]]; then
			echo "# no nats-server (FOLD_REQUIRE_NATS=1): run make nats-server" >&3
			return 1
		fi
		return 0
	fi
	nats_start "$BATS_FILE_TMPDIR/nats"
}

# nats_setup: fold_setup for such a file's tests; FOLD_STORE is unset, each
# command names its store, NATS (a fresh one on the file's server).
nats_setup() {
	fold_setup
	[[ -n ${NATS_URL:-} ]] || skip "no nats-server: run make nats-server"
	unset FOLD_STORE
	NATS=$NATS_URL/s$BATS_TEST_NUMBER
}

# nats_stop: stop the file's nats-server.
nats_stop() {
	if [[ -n ${NATS_PID:-} ]]; then
		kill "$NATS_PID" 2>/dev/null
		wait "$NATS_PID" 2>/dev/null
		NATS_PID=
	fi
	return 0
}

# build_foldcheck builds handlers/foldcheck.go once per bats run.
build_foldcheck() {
	[[ -x $FOLDCHECK ]] && return 0
	(cd "$REPO" && go build -o "$FOLDCHECK.$$" ./tests/bats/handlers/foldcheck.go) &&
		mv -f "$FOLDCHECK.$$" "$FOLDCHECK"
}

# fold_setup gives the test a fresh root (and on NATS a fresh store) and a
# clean environment.
fold_setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	export FOLD_ROOT=$ROOT
	unset FOLD_DEBUG FOLD_STORE
	if on_nats; then
		export FOLD_STORE=$NATS_URL/t$BATS_TEST_NUMBER
	fi
	TRACKED=()
	COUNTER=${COUNTER:-$COUNTER_JQ}
	cd "$BATS_TEST_TMPDIR" || return 1
}

# fold_teardown kills what the test spawned and left running.
fold_teardown() {
	local pid
	for pid in "${TRACKED[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	TRACKED=()
	return 0
}

setup_file() { fold_setup_file; }
teardown_file() { fold_teardown_file; }
setup() { fold_setup; }
teardown() { fold_teardown; }

# --- input ------------------------------------------------------------------

# envelope ID CMD [FIELDS]: one counter command envelope; FIELDS is raw JSON
# members appended to it, e.g. envelope a Increment '"command_id":"c1"'.
# TYPE (default counter) sets the aggregate type.
envelope() {
	local extra=${3:+,$3}
	printf '{"aggregate_type":"%s","instance_id":"%s","command":{"type":"%s"}%s}\n' \
		"${TYPE:-counter}" "$1" "$2" "$extra"
}

# envelopes ID CMD N [FIELDS]: N identical envelopes.
envelopes() {
	local line
	line=$(envelope "$1" "$2" "${4:-}")
	yes "$line" | head -n "$3"
}

# round_robin N M [CMD] [PREFIX]: N envelopes (CMD, default Increment) over
# the M instances PREFIX0..PREFIX<M-1> (default k) in turn. Made by awk:
# loops in a test body are slow under bats.
round_robin() {
	awk -v n="$1" -v m="$2" -v c="${3:-Increment}" -v p="${4:-k}" -v t="${TYPE:-counter}" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "{\"aggregate_type\":\"%s\",\"instance_id\":\"%s%d\",\"command\":{\"type\":\"%s\"}}\n", t, p, i % m, c
	}'
}

# --- running ----------------------------------------------------------------

# exec_counter ARGS: fold-exec with $COUNTER serving aggregate type counter.
exec_counter() { fold-exec --handler counter="$COUNTER" "$@"; }

# inc ID [N]: N (default 1) Increments on counter/ID; fails if fold-exec does.
inc() { envelopes "$1" Increment "${2:-1}" | exec_counter >/dev/null; }

# state_of ID [ARGS]: `fold-exec state` of counter/ID with $COUNTER.
state_of() {
	local id=$1
	shift
	fold-exec state --handler counter="$COUNTER" "$@" counter "$id"
}

# value_of ID: the counter's value, from `fold-exec state`.
value_of() { state_of "$1" | jq -r '.state.value'; }

# --- the root on disk -------------------------------------------------------

# stream_dir and log_file name the files of a stream. On NATS they are
# those of a fresh copy of the store (streams_root), to read: a test that
# writes them calls skip_on_nats.
stream_dir() {
	local r=$ROOT
	if on_nats; then r=$(streams_root) || return 1; fi
	printf '%s/streams/%s/%s\n' "$r" "$1" "$2"
}
log_file() { printf '%s/app.jsonl\n' "$(stream_dir "$1" "$2")"; }
snapshot_file() { printf '%s/views/state.snapshot.json\n' "$(stream_dir "$1" "$2")"; }

# streams_root: a root whose streams/ holds the test's streams, to read:
# $ROOT on files; on NATS a copy of the store made as a user would, with
# fold-watch | fold-exec --inject, which copies event lines byte for byte
# (the copy tests in exec_input.bats check it both ways).
streams_root() {
	if ! on_nats; then
		echo "$ROOT"
		return
	fi
	local dir=$BATS_TEST_TMPDIR/copy
	rm -rf "$dir"
	fold-watch | FOLD_STORE='' fold-exec --inject --root "$dir" >/dev/null || return 1
	echo "$dir"
}

# log_lines TYPE ID: how many complete lines the stream's log holds (0 if
# there is no log).
log_lines() {
	local f
	f=$(log_file "$1" "$2")
	if [[ -f $f ]]; then wc -l <"$f" | tr -d ' '; else echo 0; fi
}

# log_types TYPE ID: the event types in the log, one per line.
log_types() { jq -r '.type' "$(log_file "$1" "$2")"; }

# xxh64: the xxh64 (seed 0) of each stdin line, as 16 hex digits.
xxh64() { build_foldcheck && "$FOLDCHECK" hash; }

# check_records [FILE]: every event record in FILE (default stdin) is on disk
# under $ROOT at its version, byte for byte, with the right offset and hash.
check_records() { build_foldcheck && "$FOLDCHECK" records "$(streams_root)" <"${1:-/dev/stdin}"; }

# check_log TYPE ID: the log is complete JSON lines with type, data and ts and
# no duplicate ids; prints its line count.
check_log() { build_foldcheck && "$FOLDCHECK" log "$(streams_root)" "$1" "$2"; }

# copy_eventfold_root DIR: a writable copy of the eventfold-es fixture root.
copy_eventfold_root() {
	[[ -d $EVENTFOLD_ROOT ]] || skip "no eventfold-es fixture at $EVENTFOLD_ROOT"
	cp -R "$EVENTFOLD_ROOT" "$1" && chmod -R u+w "$1"
}

# complete_lines FILE: FILE without a last line that has no newline (what a
# killed writer may leave on a pipe).
complete_lines() { head -n "$(wc -l <"$1")" "$1"; }

# --- assertions ---------------------------------------------------------------

# assert_stderr [-p|--partial|-e|--regexp] EXPECTED: as assert_output, on the
# stderr of the last `run --separate-stderr`.
assert_stderr() {
	local output=$stderr
	assert_output "$@"
}

# refute_stderr [-p|-e] [UNEXPECTED]: as refute_output, on stderr; with no
# argument, stderr must be empty.
refute_stderr() {
	local output=$stderr
	refute_output "$@"
}

# assert_stderr_line [-n N] [-p|-e] EXPECTED: as assert_line, on stderr.
assert_stderr_line() {
	local -a lines=("${stderr_lines[@]}")
	assert_line "$@"
}

# refute_stderr_line [-p|-e] UNEXPECTED: as refute_line, on stderr.
refute_stderr_line() {
	local -a lines=("${stderr_lines[@]}")
	refute_line "$@"
}

# assert_no_stream TYPE ID: nothing was created for the stream.
assert_no_stream() {
	local d
	d=$(stream_dir "$1" "$2")
	[[ ! -e $d ]] || fail "stream directory $d exists"
}

# assert_json_eq JSON1 JSON2: equal as JSON values (key order ignored).
assert_json_eq() {
	jq -e -n --argjson a "$1" --argjson b "$2" '$a == $b' >/dev/null ||
		fail "JSON differs: got $1, want $2"
}

# --- processes ----------------------------------------------------------------

# wait_until SECONDS CMD...: poll CMD every 20ms until it succeeds; fail after
# SECONDS.
wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 50; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	fail "gave up after ${limit}s waiting for: $*"
}

# file_has_lines FILE N: FILE holds at least N lines.
file_has_lines() { [[ -f $1 && $(wc -l <"$1") -ge $2 ]]; }

# spawn PROGRAM ARGS: start PROGRAM in the background with fd 3 closed; its
# pid is SPAWNED, and teardown kills it if it is still running.
spawn() {
	# <&0: a background job's stdin would otherwise be /dev/null
	"$@" <&0 3>&- &
	SPAWNED=$!
	TRACKED+=("$SPAWNED")
}

# track PID: have teardown kill PID if it is still running.
track() { TRACKED+=("$1"); }

# gone PID: the process has exited.
gone() { ! kill -0 "$1" 2>/dev/null; }

# --- documentation ------------------------------------------------------------

# doc_block FILE LANG N: the Nth (1-based) fenced code block of language
# LANG in the repository's FILE (e.g. docs/delivery.md), verbatim.
doc_block() {
	awk -v lang="$2" -v n="$3" '
		/^```/ && !in_block { in_block = 1; k += ($0 == "```" lang); keep = ($0 == "```" lang && k == n); next }
		/^```/ && in_block { in_block = 0; keep = 0; next }
		keep' "$REPO/$1"
}

# repo_like: makes the test's directory look like the repository's root
# for the examples the docs give (examples/ is there), with no FOLD_ROOT,
# so the default root ./fold-data is the test's. ROOT is set to it.
repo_like() {
	ln -s "$REPO/examples" examples
	unset FOLD_ROOT
	ROOT=$PWD/fold-data
}
