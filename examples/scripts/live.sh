#!/bin/sh
# live.sh: a read model kept up to date while commands arrive. fold-watch
# tails the store and pipes its records into fold-project, which prints the
# TotalCounter state after each change; meanwhile commands are sent with
# fold-exec. Run it from anywhere with the fold programs on PATH (make build
# puts them in bin/):
#
#   PATH=$PWD/bin:$PATH sh examples/scripts/live.sh
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d "${TMPDIR:-/tmp}/fold-live.XXXXXX")/root # a fresh root, removed at exit
export FOLD_ROOT="$root"
counter="jq --unbuffered -c -f $here/examples/counter/counter.jq"
totals="jq --unbuffered -c -f $here/examples/counter/total_counter.jq"

say() { printf '== %s\n' "$*" >&2; }

# The live pipe: records as they are appended, folded into the projection.
# It starts on an empty root: fold-watch waits for the root to appear.
fold-watch --follow --type counter |
  fold-project --stdin --follow --name total-counter --handler "$totals" |
  while read -r state; do say "total-counter: $state"; done &
pipe=$!
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$(dirname "$root")"' EXIT
trap 'exit 130' INT TERM

send() { # send ID COMMAND
  say "$1: $2"
  printf '{"instance_id":"%s","command":{"type":"%s"}}\n' "$1" "$2" |
    fold-exec --type counter --handler "$counter" >/dev/null
  sleep 0.3 # time to see the state move
}

sleep 0.3
send alpha Increment
send alpha Increment
send beta Increment
send alpha Reset
send beta Decrement

say "the same projection, caught up from the root in one run"
fold-project --name total-counter-2 --subscribe counter --handler "$totals"
kill "$pipe" 2>/dev/null || true
