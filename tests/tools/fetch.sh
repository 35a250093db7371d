#!/usr/bin/env bash
# fetch.sh: finds or fetches a tool the tests run, so that `make test` needs
# nothing installed by hand on a machine with Go, jq and npm.
#
#   tests/tools/fetch.sh bats LIB BATS    bats-core, bats-support, bats-assert:
#                                         LIB holds bats-support/ and
#                                         bats-assert/, BATS is the executable
#   tests/tools/fetch.sh nats-server BIN  nats-server, the executable BIN
#
# The Makefile passes paths in the repository's git-ignored cache, .cache/.
# A tool there at its pinned version is used as it is: no network step and no
# output. One that is missing or at another version is fetched into a
# temporary directory beside it, then moved into place, so an interrupted
# fetch leaves nothing that looks complete. Paths outside the cache are the
# user's own tools (make test BATS=... FOLD_BATS_LIB=... NATS_SERVER=...):
# they are checked, never fetched.
#
# One rule for bats: always the pinned copy from the npm registry (no root
# needed, the same version on every machine and in CI), never the system's.
# bats is pinned at 1.8.2, Debian 12's: the suite relies on its `run` keeping
# $stderr from an earlier `run --separate-stderr`, which later versions clear.
set -euo pipefail

BATS_PKGS=(bats@1.8.2 bats-support@0.3.0 bats-assert@2.2.4)
NATS_MODULE=github.com/nats-io/nats-server/v2
NATS_VERSION=v2.15.3

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$REPO/.cache

fail() {
	echo "tools: error: $1" >&2
	echo "tools: hint: $2" >&2
	exit 1
}

in_cache() { [[ $1 == "$CACHE"/* ]]; }

# npm_error LOG: the line of npm's output that says what went wrong.
npm_error() {
	{ grep '^npm error ' "$1" | grep -m1 -vE '^npm error (code|syscall|errno) ' ||
		tail -n1 "$1"; } | sed 's/^npm error //'
}

# --- bats -------------------------------------------------------------------

# bats_ready LIB BATS: the helpers are in LIB and BATS runs; for the cached
# copy, also the stamp written after a complete fetch of exactly BATS_PKGS.
bats_ready() {
	[[ -f $1/bats-support/load.bash && -f $1/bats-assert/load.bash ]] &&
		"$2" --version >/dev/null 2>&1 || return 1
	! in_cache "$1" || [[ $(cat "$1/.fold-tools" 2>/dev/null) == "${BATS_PKGS[*]}" ]]
}

fetch_bats() {
	local lib=$1 bats=$2 prefix tmp
	bats_ready "$lib" "$bats" && return 0
	in_cache "$lib" ||
		fail "no bats-support and bats-assert in '$lib', or '$bats' does not run" \
			"install them (apt-get install bats bats-support bats-assert) and name them: make test BATS=bats FOLD_BATS_LIB=/usr/lib/bats; or leave both unset to fetch them"
	[[ $lib == */node_modules && $bats == "$lib/bats/bin/bats" ]] ||
		fail "FOLD_BATS_LIB '$lib' is in the cache but is not where npm puts it" \
			"leave FOLD_BATS_LIB and BATS unset"
	command -v npm >/dev/null ||
		fail "npm is not on PATH: make test fetches ${BATS_PKGS[*]} with it" \
			"install Node.js's npm (apt-get install npm), or install bats, bats-support and bats-assert (apt-get install bats bats-support bats-assert) and run: make test BATS=bats FOLD_BATS_LIB=/usr/lib/bats"
	prefix=${lib%/node_modules}
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/bats.XXXXXX")
	chmod 755 "$tmp"
	echo "tools: fetching ${BATS_PKGS[*]} from the npm registry into ${prefix#"$REPO"/}"
	# npm's own cache goes in ours too: clearing .cache clears everything.
	if ! npm install --prefix "$tmp" --cache "$CACHE/npm" --no-save --no-audit \
		--no-fund --ignore-scripts --loglevel=error "${BATS_PKGS[@]}" >"$CACHE/npm.log" 2>&1; then
		rm -rf "$tmp"
		fail "npm could not fetch ${BATS_PKGS[*]}: $(npm_error "$CACHE/npm.log") (all of npm's output: ${CACHE#"$REPO"/}/npm.log)" \
			"make the npm registry reachable (npm config get registry), or install bats, bats-support and bats-assert (apt-get install bats bats-support bats-assert) and run: make test BATS=bats FOLD_BATS_LIB=/usr/lib/bats"
	fi
	rm -f "$CACHE/npm.log"
	echo "${BATS_PKGS[*]}" >"$tmp/node_modules/.fold-tools"
	rm -rf "$prefix"
	# Another make may have fetched it meanwhile: then its copy is used.
	mv -T "$tmp" "$prefix" 2>/dev/null || rm -rf "$tmp"
	bats_ready "$lib" "$bats" ||
		fail "npm installed ${BATS_PKGS[*]} but '$bats' does not run" "see ${CACHE#"$REPO"/}/npm.log"
}

# --- nats-server --------------------------------------------------------------

nats_ready() {
	[[ -x $1 ]] || return 1
	! in_cache "$1" || [[ $("$1" --version 2>/dev/null) == "nats-server: $NATS_VERSION" ]]
}

fetch_nats() {
	local bin=$1 tmp
	nats_ready "$bin" && return 0
	in_cache "$bin" ||
		fail "NATS_SERVER '$bin' is not an executable" \
			"install nats-server $NATS_VERSION and name it: make test NATS_SERVER=/path/to/nats-server; or leave it unset to build it"
	command -v go >/dev/null ||
		fail "go is not on PATH: make test builds nats-server $NATS_VERSION with it" \
			"install Go 1.26 or later"
	mkdir -p "$(dirname "$bin")"
	tmp=$(mktemp -d "$CACHE/nats.XXXXXX")
	echo "tools: building nats-server $NATS_VERSION (go install $NATS_MODULE@$NATS_VERSION) into ${bin#"$REPO"/}"
	if ! (cd "$tmp" && GOBIN=$tmp go install "$NATS_MODULE@$NATS_VERSION") >"$CACHE/go.log" 2>&1; then
		rm -rf "$tmp"
		fail "go install could not build nats-server $NATS_VERSION: $(head -n1 "$CACHE/go.log") (all of go's output: ${CACHE#"$REPO"/}/go.log)" \
			"make the Go module proxy reachable (go env GOPROXY), or install nats-server $NATS_VERSION and run: make test NATS_SERVER=/path/to/nats-server"
	fi
	rm -f "$CACHE/go.log"
	mv -f "$tmp/nats-server" "$bin"
	rm -rf "$tmp"
	nats_ready "$bin" ||
		fail "go install built '$bin' but it does not say it is $NATS_VERSION" "see ${CACHE#"$REPO"/}/go.log"
}

usage() {
	echo "usage: fetch.sh bats LIB BATS | fetch.sh nats-server BIN" >&2
	exit 2
}

case ${1:-} in
bats) [[ $# -eq 3 ]] || usage; fetch_bats "$2" "$3" ;;
nats-server) [[ $# -eq 2 ]] || usage; fetch_nats "$2" ;;
*) usage ;;
esac
