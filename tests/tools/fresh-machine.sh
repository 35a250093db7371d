#!/usr/bin/env bash
# fresh-machine.sh: the README's `make test` on a simulated fresh machine,
# one with Go, jq and npm but no bats and no nats-server (make test-fresh).
#
# In a fresh clone of HEAD (commit first: uncommitted changes are not in it),
# with a PATH that hides every bats and nats-server, /usr/lib/bats emptied
# where a mount namespace can be had, and an empty .cache:
#
#   1. make tools fetches the bats trio and builds nats-server;
#   2. make bats BATS_FILES=$FRESH_BATS_FILES passes on what it fetched
#      (FRESH_TARGET=test runs the whole make test instead);
#   3. a second make tools fetches nothing: with the npm registry and the Go
#      module proxy made unreachable, it prints nothing, succeeds and changes
#      nothing in the cache;
#   4. with the cache emptied and the registries unreachable, make tools
#      fails with one error and one hint per tool.
#
# FRESH_GO=1 also starts Go's module and build caches empty (slow: every
# module is downloaded and everything compiled, the race runtime included).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FRESH_BATS_FILES=${FRESH_BATS_FILES:-tests/bats/exec.bats}
FRESH_TARGET=${FRESH_TARGET:-bats}

# Hide the system's bats helpers in a private mount namespace (root, or a
# user namespace); the PATH below hides the executables either way.
if [[ -z ${FRESH_NS:-} && -d /usr/lib/bats ]]; then
	if unshare -m true 2>/dev/null; then
		export FRESH_NS=1
		exec unshare -m "$0" "$@"
	elif unshare -rm true 2>/dev/null; then
		export FRESH_NS=1
		exec unshare -rm "$0" "$@"
	fi
fi

passed=0
failed=0
ok() {
	echo "ok: $*"
	passed=$((passed + 1))
}
not_ok() {
	echo "not ok: $*"
	failed=$((failed + 1))
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

TMP=$(mktemp -d)
cleanup() {
	chmod -R u+w "$TMP" 2>/dev/null # Go's module cache is read-only
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ -d /usr/lib/bats && ${FRESH_NS:-} == 1 ]]; then
	mkdir "$TMP/empty"
	mount --bind "$TMP/empty" /usr/lib/bats
fi
if [[ -n $(ls -A /usr/lib/bats 2>/dev/null) ]]; then
	echo "note: /usr/lib/bats stays visible (no mount namespace here); make passes the tests FOLD_BATS_LIB"
fi

# A PATH with the same directories, except that one holding a bats or a
# nats-server is replaced by a directory of links to all its other files.
hidden_path() {
	local d n=0 out=
	local -a dirs
	IFS=: read -ra dirs <<<"$PATH"
	for d in "${dirs[@]}"; do
		if [[ -e $d/bats || -e $d/nats-server ]]; then
			n=$((n + 1))
			mkdir -p "$TMP/path/$n"
			find "$d" -mindepth 1 -maxdepth 1 ! -name bats ! -name nats-server \
				-exec ln -s -t "$TMP/path/$n" {} +
			d=$TMP/path/$n
		fi
		out+=${out:+:}$d
	done
	echo "$out"
}
PATH=$(hidden_path)
export PATH
# Nothing from the make that ran this script, nor a tool named by hand.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES BATS FOLD_BATS_LIB NATS_SERVER BATS_LIB_PATH
if [[ ${FRESH_GO:-} == 1 ]]; then
	export GOMODCACHE=$TMP/gomod GOCACHE=$TMP/gocache
fi

check "no bats on PATH" eval '! command -v bats >/dev/null'
check "no nats-server on PATH" eval '! command -v nats-server >/dev/null'
if [[ ${FRESH_NS:-} == 1 ]]; then
	check "no bats helpers in /usr/lib/bats" eval '[[ -z $(ls -A /usr/lib/bats) ]]'
fi

head=$(git -C "$REPO" rev-parse HEAD)
[[ -z $(git -C "$REPO" status --porcelain) ]] ||
	echo "note: uncommitted changes in $REPO are not in the clone"
git clone -q "$REPO" "$TMP/fold"
git -C "$TMP/fold" checkout -q --detach "$head"
cd "$TMP/fold"
echo "fresh clone of $(git log -1 --format='%h %s') in $TMP/fold"
check "the clone has no .cache" test ! -e .cache

# run NAME CMD...: CMD's output (both streams) in $TMP/NAME.out, shown
# indented; its status in $status, its time in $took.
run() {
	local name=$1 t0
	shift
	echo "\$ $*"
	t0=$EPOCHREALTIME
	set +e
	"$@" >"$TMP/$name.out" 2>&1
	status=$?
	set -e
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
	sed 's/^/  | /' "$TMP/$name.out"
	printf '  (exit %d, %.1fs)\n' "$status" "$took"
}

# 1. The cold fetch.
run cold make tools
cold=$took
check "make tools succeeds on an empty cache" test "$status" -eq 0
check "it fetches the bats trio from npm" grep -q '^tools: fetching bats@' "$TMP/cold.out"
check "it builds nats-server" grep -q '^tools: building nats-server' "$TMP/cold.out"
check "bats is in the cache" test -x .cache/bats/node_modules/bats/bin/bats
check "nats-server is in the cache, at the pinned version" \
	eval '[[ $(.cache/bin/nats-server --version) == "nats-server: v2.15.3" ]]'

# 2. The tests on what was fetched.
if [[ $FRESH_TARGET == test ]]; then
	run suite make test
else
	run suite make bats BATS_FILES="$FRESH_BATS_FILES"
fi
suite=$took
check "make $FRESH_TARGET passes" test "$status" -eq 0
check "bats ran tests, none failed" grep -qE '^bats: [1-9][0-9]* passed, 0 failed$' "$TMP/suite.out"

# 3. The warm run: nothing fetched, nothing could have been.
find .cache -printf '%p %s %T@\n' | sort >"$TMP/before"
export npm_config_registry=http://127.0.0.1:9/ npm_config_fetch_retries=0 GOPROXY=off
run warm make tools
warm=$took
find .cache -printf '%p %s %T@\n' | sort >"$TMP/after"
check "a second make tools succeeds without the network" test "$status" -eq 0
check "it prints nothing" test ! -s "$TMP/warm.out"
check "it changes nothing in the cache" cmp -s "$TMP/before" "$TMP/after"

# 4. Nothing cached and nothing reachable: one error and one hint per tool.
rm -rf .cache
run nonet make -k tools
check "make tools fails when it cannot fetch" test "$status" -ne 0
check "one error and one hint for bats" eval \
	'[[ $(grep -c "^tools: error: npm could not fetch bats@" "$TMP/nonet.out") == 1 &&
		$(grep -c "^tools: hint: .*apt-get install bats" "$TMP/nonet.out") == 1 ]]'
check "one error and one hint for nats-server" eval \
	'[[ $(grep -c "^tools: error: go install could not build nats-server" "$TMP/nonet.out") == 1 &&
		$(grep -c "^tools: hint: .*NATS_SERVER=" "$TMP/nonet.out") == 1 ]]'

printf 'timings: cold make tools %.1fs, make %s %.1fs, warm make tools %.2fs\n' \
	"$cold" "$FRESH_TARGET" "$suite" "$warm"
echo "fresh-machine: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
