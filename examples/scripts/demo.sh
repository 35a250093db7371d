#!/bin/sh
# demo.sh: the eventfold-es counter example driven through fold, end to end,
# on a fresh root: commands, states, the TotalCounter projection; then the
# order-fulfilment saga (examples/scripts/saga.sh) on a root of its own. Run it with `make demo` (which puts bin/ on PATH), or
# from the repository root with the fold programs on PATH. With FOLD_STORE
# (and FOLD_SAGA_STORE for the saga) the streams are on NATS JetStream:
# make demo-nats.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
root=${FOLD_ROOT:-$here/demo-root}
rm -rf "$root"
export FOLD_ROOT="$root"
counter="jq --unbuffered -c -f $here/examples/counter/counter.jq"

say() { printf '\n== %s\n' "$*"; }

say "commands for counter alpha and beta, through the jq handler"
fold-exec --type counter --handler "$counter" <<'JSONL' | jq -c '{stream: "\(.aggregate_type)/\(.instance_id)", version, type: .event.type, data: .event.data}'
{"instance_id":"alpha","command":{"type":"Increment"},"context":{"actor":"demo"}}
{"instance_id":"alpha","command":{"type":"Increment"},"context":{"actor":"demo"}}
{"instance_id":"alpha","command":{"type":"Increment"},"context":{"actor":"demo"}}
{"instance_id":"alpha","command":{"type":"Reset"},"context":{"actor":"demo"}}
{"instance_id":"beta","command":{"type":"Increment"},"context":{"actor":"demo"}}
{"instance_id":"beta","command":{"type":"Decrement"},"context":{"actor":"demo"}}
{"instance_id":"beta","command":{"type":"Increment"},"context":{"actor":"demo"}}
JSONL

say "commands the aggregate refuses (exit status 1, reasons on stderr)"
status=0
fold-exec --type counter --handler "$counter" <<'JSONL' || status=$?
{"instance_id":"gamma","command":{"type":"Decrement"}}
{"instance_id":"alpha","command":{"type":"Reset"}}
JSONL
echo "exit status: $status"

say "states, with the same counter written in POSIX sh"
for id in alpha beta; do
  fold-exec state --handler counter="sh $here/examples/counter/counter.sh" counter "$id"
done

say "alpha as of version 3 (time travel)"
fold-exec state --handler counter="$counter" --at-version 3 counter alpha

say "the streams, and alpha's event log as stored"
fold-exec streams
fold-watch --stream counter/alpha | jq -c .event

say "the TotalCounter projection over every counter (eventfold-es's example)"
fold-project --name total-counter --subscribe counter --handler "jq --unbuffered -c -f $here/examples/counter/total_counter.jq"

say "one more increment; the projection catches up from its checkpoint"
echo '{"instance_id":"gamma","command":{"type":"Increment"}}' | fold-exec --type counter --handler "$counter" >/dev/null
fold-project --name total-counter --subscribe counter --handler "jq --unbuffered -c -f $here/examples/counter/total_counter.jq"

say "every event of type WasReset, straight from fold-watch and jq"
fold-watch --type counter | jq -c 'select(.event.type == "WasReset") | {stream: "\(.aggregate_type)/\(.instance_id)", data: .event.data}'

FOLD_ROOT="$root/saga" FOLD_STORE="${FOLD_SAGA_STORE:-}" sh "$here/examples/scripts/saga.sh"
