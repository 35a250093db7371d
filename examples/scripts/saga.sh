#!/bin/sh
# saga.sh: the order-fulfilment saga of examples/saga driven through fold,
# end to end: the fulfil process manager turns order and inventory events
# into commands, first as a pipe into fold-exec, then with --dispatch; a
# command for a type without a handler becomes a dead letter, which is
# retried once the handler is there.
#
# The fold programs are taken from PATH. The root is $FOLD_ROOT (a root
# where the saga has not run yet), else a fresh temporary directory.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
saga=$here/examples/saga
if [ -n "${FOLD_ROOT:-}" ]; then
	root=$FOLD_ROOT
else
	root=$(mktemp -d "${TMPDIR:-/tmp}/fold-saga.XXXXXX")
fi
export FOLD_ROOT="$root"
if [ -e "$root/process_managers/fulfil" ]; then
	echo "saga.sh: error: the saga already ran on $root" >&2
	echo "saga.sh: hint: unset FOLD_ROOT to use a fresh root" >&2
	exit 1
fi

order="jq --unbuffered -c -f $saga/order.jq"
inventory="sh $saga/inventory.sh"
shipping="sh $saga/shipping.sh"
fulfil="jq --unbuffered -c -f $saga/fulfil.jq"
letters=$root/process_managers/fulfil/dead_letters.jsonl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fold-saga-work.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say() { printf '\n== %s\n' "$*"; }
# records: event records, one readable line each.
records() { jq -r '"   " + (["\(.aggregate_type)/\(.instance_id)", "v\(.version)", .event.type, (.event.data // empty | tostring)] | join(" "))'; }
# commands: command envelopes, one readable line each.
commands() { jq -r '"   → " + (["\(.aggregate_type)/\(.instance_id)", .command.type, (.command.data // empty | tostring), "(\(.command_id))"] | join(" "))'; }
# pm ARGS: the fulfil process manager.
pm() { fold-pm --name fulfil --subscribe order,inventory --handler "$fulfil" "$@"; }
# shop ARGS: fold-exec with the order (jq) and inventory (sh) handlers.
shop() { fold-exec --handler order="$order" --handler inventory="$inventory" "$@"; }
status() {
	for id in "$@"; do
		fold-exec state --handler order="$order" order "$id" | jq -r '"   order/\(.instance_id): \(.state.status)\(if .state.reason then " (\(.state.reason))" else "" end)"'
	done
}

echo "root: $root"

say "stock: 5 widgets, 1 gadget (inventory handler in sh)"
shop <<'JSONL' | records
{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":5}}}
{"aggregate_type":"inventory","instance_id":"gadget","command":{"type":"Stock","data":{"qty":1}}}
JSONL

say "two orders (order handler in jq): o-1 can be served, o-2 cannot"
shop <<'JSONL' | records
{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}},"context":{"actor":"alice","correlation_id":"checkout-1"}}
{"aggregate_type":"order","instance_id":"o-2","command":{"type":"Place","data":{"sku":"gadget","qty":3}},"context":{"actor":"bob","correlation_id":"checkout-2"}}
JSONL

say "the process manager as a pipe: fold-pm | fold-exec, until it has nothing more to say"
echo "   (each round reacts to what the previous one appended; fold-exec keeps what fails"
echo "   in the process manager's dead letters with --rejects; fold-pm --commit confirms each round)"
round=1
while :; do
	pm >"$tmp/cmds.jsonl"
	[ -s "$tmp/cmds.jsonl" ] || break
	echo "  round $round:"
	commands <"$tmp/cmds.jsonl"
	status=0
	shop --rejects "$letters" <"$tmp/cmds.jsonl" >"$tmp/out" 2>"$tmp/err" || status=$?
	records <"$tmp/out"
	sed 's/^/   /' "$tmp/err"
	# Confirm the delivery only once fold-exec took all of it; otherwise
	# the next round delivers the same commands again.
	[ "$status" -eq 0 ] || exit "$status"
	pm --commit
	round=$((round + 1))
done
echo "  round $round: nothing more"
status o-1 o-2

say "Ship went to shipping, which that fold-exec had no handler for: a dead letter"
fold-pm dead-letters --name fulfil | jq -r '"   \(.envelope.aggregate_type)/\(.envelope.instance_id) \(.envelope.command.type): \(.error)"'

say "a command sent twice (as after a crash of fold-pm): fold-exec drops it by command_id"
status=0
printf '%s\n' '{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Reserve","data":{"order_id":"o-1","qty":2}},"command_id":"fold-pm:fulfil/order/o-1/1/0"}' |
	shop >/dev/null 2>"$tmp/err" || status=$?
sed 's/^/   /' "$tmp/err"
echo "   exit status: $status (a duplicate is not a failure)"
echo "   widget reservations: $(fold-watch --stream inventory/widget | jq -r '.event | select(.type == "Reserved") | .data.order_id' | tr '\n' ' ')"

say "two more orders, and fold-pm runs the commands itself (--dispatch)"
shop <<'JSONL' | records
{"aggregate_type":"order","instance_id":"o-3","command":{"type":"Place","data":{"sku":"widget","qty":1}}}
{"aggregate_type":"order","instance_id":"o-4","command":{"type":"Place","data":{"sku":"widget","qty":5}}}
JSONL
echo "  fold-pm --dispatch (still no shipping handler):"
status=0
pm --dispatch --handler order="$order" --handler inventory="$inventory" >"$tmp/out" 2>"$tmp/err" || status=$?
records <"$tmp/out"
sed 's/^/   /' "$tmp/err"
echo "   exit status: $status (a run that dead-lettered anything exits 1)"
status o-3 o-4

say "the dead letters now"
fold-pm dead-letters --name fulfil | jq -r '"   \(.envelope.aggregate_type)/\(.envelope.instance_id) \(.envelope.command.type): \(.error)"'

say "the shipping handler (sh) is there now: fold-pm retry"
fold-pm retry --name fulfil --handler shipping="$shipping" | records
echo "   dead letters left: $(fold-pm dead-letters --name fulfil | wc -l | tr -d ' ')"

say "the process manager again: nothing new to react to"
pm --dispatch --handler order="$order" --handler inventory="$inventory" --handler shipping="$shipping" | records
echo "   (nothing)"

say "what the process manager keeps (process_managers/fulfil/checkpoint.json)"
jq -c '{state, streams: (.cursors | keys)}' "$root/process_managers/fulfil/checkpoint.json" | sed 's/^/   /'

say "o-1's story, with its correlation id carried from the checkout through the saga"
for s in order/o-1 inventory/widget shipping/o-1; do
	fold-watch --stream "$s" | jq -r --arg s "$s" '.event | select(.meta.correlation_id == "checkout-1") | "   \($s) \(.type) actor=\(.actor) command_id=\(.meta.command_id // "-")"'
done
