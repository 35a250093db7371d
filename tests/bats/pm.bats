#!/usr/bin/env bats
# fold-pm end to end: the saga of examples/saga (orders, inventory,
# shipping, and the fulfil process manager) as a pipe into fold-exec and
# with --dispatch; exactly-once effects across reruns and a kill -9;
# dead letters and retry; --stdin, --follow, the lock, and exit statuses.

load helpers

SAGA=$REPO/examples/saga
ORDER_JQ="jq --unbuffered -c -f $(sq "$SAGA/order.jq")"
INVENTORY_SH="sh $(sq "$SAGA/inventory.sh")"
SHIPPING_SH="sh $(sq "$SAGA/shipping.sh")"
FULFIL_JQ="jq --unbuffered -c -f $(sq "$SAGA/fulfil.jq")"
SAGA_GO=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/saga-go

setup_file() {
	fold_setup_file || return 1
	[[ -x $BIN/fold-pm ]] || {
		echo "# $BIN/fold-pm is missing: run make build first" >&3
		return 1
	}
	[[ -x $SAGA_GO ]] || (cd "$REPO" && go build -o "$SAGA_GO" ./examples/saga/go)
}

setup() {
	fold_setup
	PMDIR=$ROOT/process_managers/fulfil
	LETTERS=$PMDIR/dead_letters.jsonl
}

# --- the saga -------------------------------------------------------------------

# shop ARGS: fold-exec with the order and inventory handlers (no shipping).
shop() { fold-exec --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" "$@"; }

# cmd TYPE ID COMMAND [DATA] [FIELDS]: one envelope.
cmd() { printf '{"aggregate_type":"%s","instance_id":"%s","command":{"type":"%s","data":%s}%s}\n' "$1" "$2" "$3" "${4:-null}" "${5:+,$5}"; }

stock() { cmd inventory "$1" Stock "{\"qty\":$2}" | shop >/dev/null; }

# place ID SKU QTY [CORRELATION_ID]
place() {
	local ctx=
	[[ -n ${4:-} ]] && ctx="\"context\":{\"correlation_id\":\"$4\"}"
	cmd order "$1" Place "{\"sku\":\"$2\",\"qty\":$3}" "$ctx" | shop >/dev/null
}

# pm ARGS: the fulfil process manager with its jq handler.
pm() { fold-pm --name fulfil --subscribe order,inventory --handler "${FULFIL:-$FULFIL_JQ}" "$@"; }

# pipe_until_quiet: run `pm | shop` until the process manager has nothing
# more to say (each round reacts to what the previous one appended),
# confirming each round once fold-exec has run its commands; the dead
# letters go where fold-pm keeps its own (and count as handled).
pipe_until_quiet() {
	local i
	mkdir -p "$PMDIR"
	for ((i = 0; i < 10; i++)); do
		pm >cmds.$i.jsonl || return 1
		shop --rejects "$LETTERS" <cmds.$i.jsonl >>records.jsonl 2>>exec.err || return 1
		pm --commit || return 1
		[[ -s cmds.$i.jsonl ]] || return 0
	done
	fail "the saga did not settle in 10 rounds"
}

status_of() { fold-exec state --handler order="$ORDER_JQ" order "$1" | jq -r .state.status; }
inventory_of() { fold-exec state --handler inventory="$INVENTORY_SH" inventory "$1" | jq -c .state; }

# reservations SKU: the order ids of the sku's Reserved events, sorted.
reservations() { jq -r 'select(.type == "Reserved") | .data.order_id' "$(log_file inventory "$1")" | sort; }

# two_orders: o-1 can be served, o-2 cannot.
two_orders() {
	stock widget 5
	place o-1 widget 2 c-1
	place o-2 widget 9
}

@test "saga as a pipe: the accepted order is confirmed, the one out of stock cancelled" {
	two_orders
	pipe_until_quiet

	[[ $(status_of o-1) == confirmed ]]
	[[ $(status_of o-2) == cancelled ]]
	run inventory_of widget
	assert_output '{"available":3,"reserved":2}'
	run log_types order o-2
	assert_output - <<-'EOF'
		Placed
		Cancelled
	EOF
	check_records records.jsonl

	# every command names the process manager and its origin; the
	# correlation id of o-1's Place was carried along the whole saga
	run jq -c 'select(.aggregate_type == "order" and .instance_id == "o-1") | [.event.type, .event.actor, .event.meta]' records.jsonl
	assert_output '["Confirmed","fold-pm:fulfil",{"correlation_id":"c-1","command_id":"fold-pm:fulfil/inventory/widget/2/0"}]'
	run jq -r .command_id cmds.0.jsonl
	assert_output - <<-'EOF'
		fold-pm:fulfil/order/o-1/1/0
		fold-pm:fulfil/order/o-2/1/0
	EOF

	# the state the process manager keeps, in the eventfold-es checkpoint
	run jq -c .state "$PMDIR/checkpoint.json"
	assert_output '{"placed":2,"confirmed":1,"cancelled":1}'
	run jq -c '.cursors | keys' "$PMDIR/checkpoint.json"
	assert_output '["inventory/widget","order/o-1","order/o-2"]'

	# Ship went to a type fold-exec had no handler for: kept as a dead letter
	run jq -c '[.envelope.aggregate_type, .envelope.instance_id, .envelope.command_id, .error]' "$LETTERS"
	assert_output '["shipping","o-1","fold-pm:fulfil/order/o-1/2/0","no handler for aggregate_type \"shipping\""]'
}

@test "saga with --dispatch runs to its end in one run" {
	two_orders
	run --separate-stderr pm --dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH"
	assert_success
	refute_stderr
	check_records <<<"$output"
	run jq -c '[.aggregate_type, .instance_id, .event.type]' <<<"$output"
	assert_output - <<-'EOF'
		["inventory","widget","Reserved"]
		["inventory","widget","ReservationFailed"]
		["order","o-1","Confirmed"]
		["order","o-2","Cancelled"]
		["shipping","o-1","Shipped"]
	EOF
	[[ $(status_of o-1) == confirmed && $(status_of o-2) == cancelled ]]
	[[ ! -e $LETTERS ]]
}

@test "saga with the Go handlers, pipe and dispatch alike" {
	stock widget 5
	cmd order o-1 Place '{"sku":"widget","qty":2}' | fold-exec --handler order="$SAGA_GO" >/dev/null
	cmd order o-2 Place '{"sku":"widget","qty":9}' | fold-exec --handler order="$SAGA_GO" >/dev/null
	FULFIL=$SAGA_GO pm | fold-exec --handler inventory="$SAGA_GO" >/dev/null && FULFIL=$SAGA_GO pm --commit
	run --separate-stderr env FULFIL="$SAGA_GO" bash -c "$(declare -f pm); pm --dispatch --handler order=$(sq "$SAGA_GO") --handler shipping=$(sq "$SAGA_GO")"
	assert_success
	run jq -c '[.aggregate_type, .instance_id, .event.type]' <<<"$output"
	assert_output - <<-'EOF'
		["order","o-1","Confirmed"]
		["order","o-2","Cancelled"]
		["shipping","o-1","Shipped"]
	EOF
	# the jq handlers read what the Go ones wrote
	[[ $(status_of o-1) == confirmed && $(status_of o-2) == cancelled ]]
	run jq -c .state "$PMDIR/checkpoint.json"
	assert_output '{"placed":2,"confirmed":1,"cancelled":1}'
}

@test "fold-pm run twice prints the same commands until they are confirmed, then nothing new" {
	two_orders
	run --separate-stderr pm
	assert_success
	[[ ${#lines[@]} -eq 2 ]] || fail "first run: $output"
	local first=$output
	[[ ! -e $PMDIR/checkpoint.json ]]

	# not confirmed: the same commands again, with a warning
	run --separate-stderr pm
	assert_success
	assert_output "$first"
	assert_stderr_line -n 0 -p 'fold-pm: warning: process manager "fulfil": what an earlier run delivered was never confirmed'

	run --separate-stderr pm --commit
	assert_success
	refute_stderr
	cp "$PMDIR/checkpoint.json" before.json
	run --separate-stderr pm
	assert_success
	assert_output ''
	refute_stderr
	pm --commit
	cmp before.json "$PMDIR/checkpoint.json"
	# a commit with nothing pending says so, and loses nothing
	run --separate-stderr pm --commit
	assert_failure 1
	assert_stderr_line -n 0 -p 'nothing to confirm'
}

@test "feeding the same envelopes to fold-exec twice creates no new events" {
	two_orders
	pm >cmds.jsonl
	run --separate-stderr shop <cmds.jsonl
	assert_success
	[[ ${#lines[@]} -eq 2 ]]
	run --separate-stderr shop <cmds.jsonl
	assert_success # duplicates are not failures
	assert_output ''
	[[ $(log_lines inventory widget) -eq 3 ]]
	run reservations widget
	assert_output 'o-1'
}

@test "kill -9 between emitting and checkpointing: every command takes effect exactly once" {
	stock widget 10
	place o-1 widget 1
	place o-2 widget 1
	# The process manager's handler stalls on o-2's Placed while ./slow
	# exists, so the run is caught after printing o-1's Reserve and before
	# its checkpoint, which is saved at the end of the batch.
	cat >slow.sh <<-'EOF'
		while IFS= read -r line; do
			case $line in *'"instance_id":"o-2"'*)
				if [ -f slow ]; then
					sleep 60 &
					echo "$$ $!" >handler.pids
					wait
				fi ;;
			esac
			printf '%s\n' "$line" | jq -c -f "$FULFIL_PROGRAM"
		done
	EOF
	touch slow
	FULFIL_PROGRAM=$SAGA/fulfil.jq fold-pm --name fulfil --subscribe order,inventory --handler 'sh slow.sh' >out1.jsonl 2>err1 &
	local pid=$!
	wait_until 10 file_has_lines out1.jsonl 1
	wait_until 10 test -s handler.pids
	kill -9 "$pid"
	kill -9 $(cat handler.pids) # the stalled handler and its sleep
	wait "$pid" || true
	rm slow

	run jq -r .command_id out1.jsonl
	assert_output 'fold-pm:fulfil/order/o-1/1/0'
	[[ ! -e $PMDIR/checkpoint.json ]] || fail "the checkpoint was saved: $(cat "$PMDIR/checkpoint.json")"

	# What the killed run printed reaches fold-exec (as a pipe would have
	# carried it); the rerun reacts to o-1 again and emits the same command,
	# which fold-exec drops, beside the Confirm for o-1's reservation.
	shop <out1.jsonl >/dev/null
	pipe_until_quiet
	run jq -r .command_id cmds.0.jsonl
	assert_output - <<-'EOF'
		fold-pm:fulfil/inventory/widget/2/0
		fold-pm:fulfil/order/o-1/1/0
		fold-pm:fulfil/order/o-2/1/0
	EOF
	run reservations widget
	assert_output - <<-'EOF'
		o-1
		o-2
	EOF
	run log_types order o-1
	assert_output - <<-'EOF'
		Placed
		Confirmed
	EOF
	run inventory_of widget
	assert_output '{"available":8,"reserved":2}'
}

@test "a command for a type without a handler is dead-lettered; retry clears it once there is one" {
	two_orders
	run --separate-stderr pm --dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH"
	assert_failure 1
	assert_stderr_line -n 0 'fold-pm: error: "order/o-1" version 2, command 0: no handler for aggregate_type "shipping"'
	assert_stderr_line -n 1 -p 'fold-pm: hint: 1 command(s) dead-lettered in'

	# the SPEC's format: {"envelope","error","ts"}, the envelope as sent
	run jq -c 'keys' "$LETTERS"
	assert_output '["envelope","error","ts"]'
	run jq -c '.envelope' "$LETTERS"
	assert_output '{"aggregate_type":"shipping","instance_id":"o-1","command":{"type":"Ship"},"context":{"actor":"fold-pm:fulfil","correlation_id":"c-1"},"command_id":"fold-pm:fulfil/order/o-1/2/0"}'
	jq -e '.ts | type == "number"' "$LETTERS" >/dev/null

	run --separate-stderr fold-pm dead-letters --name fulfil
	assert_success
	assert_output "$(cat "$LETTERS")"

	# a retry that fails again keeps the letter, with the new reason (the
	# handler answers the start's probe, an apply, and dies on a command)
	local dies='while IFS= read -r l; do case $l in *\"op\":\"apply\"*) echo "{}" ;; *) exit 3 ;; esac; done'
	run --separate-stderr fold-pm retry --name fulfil --handler shipping="$dies"
	assert_failure 1
	assert_stderr_line -n 0 -p 'fold-pm: error: dead letter on line 1: handler "while'
	assert_stderr_line -n 0 -p 'exited without answering (exit status 3)'
	run jq -r .error "$LETTERS"
	assert_output -p 'exited without answering (exit status 3)'

	run --separate-stderr fold-pm retry --name fulfil --handler shipping="$SHIPPING_SH"
	assert_success
	run jq -c '[.aggregate_type, .instance_id, .event.type, .event.meta.command_id]' <<<"$output"
	assert_output '["shipping","o-1","Shipped","fold-pm:fulfil/order/o-1/2/0"]'
	run fold-pm dead-letters --name fulfil
	assert_success
	assert_output ''

	# nothing left: a second retry does nothing, and so does the process manager
	run --separate-stderr fold-pm retry --name fulfil --handler shipping="$SHIPPING_SH"
	assert_success
	assert_output ''
	run pm --dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH"
	assert_success
	assert_output ''
	[[ $(log_lines shipping o-1) -eq 1 ]]
}

@test "retry of a letter already applied clears it as a duplicate" {
	two_orders
	pipe_until_quiet
	# the pipe's fold-exec wrote the letter; apply it by hand, then retry
	jq -c .envelope "$LETTERS" | fold-exec --handler shipping="$SHIPPING_SH" >/dev/null
	run --separate-stderr fold-pm retry --name fulfil --handler shipping="$SHIPPING_SH"
	assert_success
	assert_output ''
	[[ ! -s $LETTERS ]]
	[[ $(log_lines shipping o-1) -eq 1 ]]
}

@test "the process manager's state survives restarts" {
	stock widget 5
	place o-1 widget 1
	pm --dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH" >/dev/null
	run jq -c .state "$PMDIR/checkpoint.json"
	assert_output '{"placed":1,"confirmed":1,"cancelled":0}'

	place o-2 widget 9
	place o-3 widget 2
	pm --dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH" >/dev/null
	run jq -c .state "$PMDIR/checkpoint.json"
	assert_output '{"placed":3,"confirmed":2,"cancelled":1}'
}

@test "--stdin reacts to records from a pipe, skipping what its checkpoint covers" {
	stock widget 5
	cmd order o-1 Place '{"sku":"widget","qty":2}' | shop >placed.jsonl
	# an empty pipe: nothing, even though the root holds the record
	run --separate-stderr pm --stdin </dev/null
	assert_success
	assert_output ''
	pm --commit

	{
		cat placed.jsonl
		echo 'not a record'
		cmd inventory widget Stock '{"qty":1}' | shop # a type it does not subscribe to: skipped
	} >in.jsonl
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler "$FULFIL_JQ" --stdin <in.jsonl
	assert_failure 1
	run jq -r .command_id <<<"$output"
	assert_output 'fold-pm:fulfil/order/o-1/1/0'
	assert_stderr_line -n 0 -e '^fold-pm: error: line 2: malformed JSON "not a record"'
	pm --commit
	run jq -c '.cursors | keys' "$PMDIR/checkpoint.json"
	assert_output '["order/o-1"]'

	# the same input again: the cursors cover it
	run --separate-stderr pm --stdin <placed.jsonl
	assert_success
	assert_output ''
}

@test "--follow keeps reacting until stopped" {
	stock widget 5
	fold-pm --name fulfil --subscribe order,inventory --handler "$FULFIL_JQ" --follow \
		--dispatch --handler order="$ORDER_JQ" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH" >out.jsonl 2>err &
	local pid=$!
	place o-1 widget 2
	wait_until 20 file_has_lines out.jsonl 3 # Reserved, Confirmed, Shipped
	place o-2 widget 9
	wait_until 20 file_has_lines out.jsonl 5 # ReservationFailed, Cancelled
	kill -TERM "$pid"
	wait "$pid" || fail "exit status $? after SIGTERM: $(cat err)"
	[[ ! -s err ]] || fail "stderr: $(cat err)"
	[[ $(status_of o-1) == confirmed && $(status_of o-2) == cancelled ]]
	check_records out.jsonl
}

@test "--follow stops when the reader of its output goes away" {
	two_orders
	run timeout 20 bash -c "fold-pm --name fulfil --subscribe order,inventory --handler $(sq "$FULFIL_JQ") --follow | head -n 1"
	assert_success
	run jq -r .command_id <<<"$output"
	assert_output 'fold-pm:fulfil/order/o-1/1/0'
}

@test "--rebuild reacts to everything again with the same ids: nothing applies twice" {
	two_orders
	pipe_until_quiet
	local before
	before=$(cat "$ROOT"/streams/*/*/app.jsonl | wc -l)
	run --separate-stderr pm --rebuild
	assert_success
	run jq -r .command_id <<<"$output"
	assert_output - <<-'EOF'
		fold-pm:fulfil/inventory/widget/2/0
		fold-pm:fulfil/inventory/widget/3/0
		fold-pm:fulfil/order/o-1/1/0
		fold-pm:fulfil/order/o-1/2/0
		fold-pm:fulfil/order/o-2/1/0
	EOF
	pm --rebuild | shop >out.jsonl 2>/dev/null || true
	[[ ! -s out.jsonl ]] || fail "applied again: $(cat out.jsonl)"
	[[ $(cat "$ROOT"/streams/*/*/app.jsonl | wc -l) -eq $before ]]
	run jq -c .state "$PMDIR/checkpoint.json"
	assert_output '{"placed":2,"confirmed":1,"cancelled":1}'
}

@test "one run per name: a second waits for the lock, then exits 75" {
	stock widget 5
	place o-1 widget 2
	fold-pm --name fulfil --subscribe order,inventory --handler "$FULFIL_JQ" --follow >out.jsonl 2>err &
	local pid=$!
	wait_until 10 file_has_lines out.jsonl 1
	run --separate-stderr pm --lock-timeout 200ms
	kill -TERM "$pid"
	wait "$pid" || true
	assert_failure 75
	assert_output ''
	assert_stderr_line -n 0 -p 'fold-pm: error: process manager "fulfil" is in use: lock'

	assert_stderr_line -n 1 -p 'fold-pm: hint: '
}

@test "a record the handler fails on stops the run; the next run starts with it" {
	two_orders
	# a handler that fails on o-2 only
	cat >picky.sh <<-'EOF'
		while IFS= read -r line; do
			case $line in *'"instance_id":"o-2"'*) echo oops; continue ;; esac
			printf '%s\n' "$line" | jq -c -f "$FULFIL_PROGRAM"
		done
	EOF
	export FULFIL_PROGRAM=$SAGA/fulfil.jq
	FULFIL='sh picky.sh' run --separate-stderr pm
	assert_failure 1
	assert_output -p 'fold-pm:fulfil/order/o-1/1/0'
	assert_stderr_line -e '^fold-pm: error: react to "order/o-2" version 1: handler "sh picky.sh"'
	assert_stderr -p '"oops"'
	# what went out before the failure was whole: it can be confirmed
	pm --commit
	run jq -c '.cursors | keys' "$PMDIR/checkpoint.json"
	assert_output '["inventory/widget","order/o-1"]'

	run --separate-stderr pm
	assert_success
	run jq -r .command_id <<<"$output"
	assert_output 'fold-pm:fulfil/order/o-2/1/0'
}

@test "an invalid command from the handler is dead-lettered, the others still go out" {
	stock widget 5
	place o-1 widget 2
	cat >bad.jq <<-'EOF'
		{state: null, commands: [{aggregate_type: "inventory", command: {type: "Reserve"}},
		  {aggregate_type: "inventory", instance_id: "../x", command: {}},
		  {aggregate_type: "inventory", instance_id: "widget", command: {type: "Noop"}}]}
	EOF
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler 'jq --unbuffered -c -f bad.jq'
	assert_failure 1
	run jq -r .command_id <<<"$output"
	assert_output 'fold-pm:fulfil/order/o-1/1/2'
	assert_stderr_line -n 0 'fold-pm: error: "order/o-1" version 1, command 0: missing instance_id (give it in the line or with --id)'
	assert_stderr_line -n 1 -p 'fold-pm: error: "order/o-1" version 1, command 1: instance_id "../x" is not a single path segment'
	run jq -c '.envelope' "$LETTERS"
	assert_output - <<-'EOF'
		{"aggregate_type":"inventory","command":{"type":"Reserve"}}
		{"aggregate_type":"inventory","instance_id":"../x","command":{}}
	EOF
}

@test "usage errors exit 2 and say what to do" {
	run --separate-stderr fold-pm --subscribe order --handler x
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --name is required'
	run --separate-stderr fold-pm --name fulfil --handler x
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --subscribe is required'
	run --separate-stderr fold-pm --name fulfil --subscribe order
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: no handler given for the process manager'
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler x --handler order=y
	assert_failure 2
	assert_stderr_line -n 0 -p 'needs --dispatch'
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler x --dispatch
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --dispatch needs aggregate handlers'
	run --separate-stderr fold-pm --name ../x --subscribe order --handler x
	assert_failure 2
	assert_stderr_line -n 0 -p 'name "../x" is not a single path segment'
	run --separate-stderr fold-pm retry --name fulfil --handler x
	assert_failure 2
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler x --poll 1s
	assert_failure 2
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler x --sync none
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --sync is a flag of --dispatch: without it fold-pm runs no commands'
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler x --batch 0
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --batch 0 is not a positive number'
	run --separate-stderr fold-pm --name fulfil --subscribe order --handler =x
	assert_failure 2
	assert_stderr_line -n 0 'fold-pm: error: --handler "=x": aggregate_type "" is not a single path segment (empty)'
}

@test "a root that does not exist: nothing to do, nothing created" {
	run --separate-stderr pm
	assert_success
	assert_output ''
	[[ ! -e $ROOT ]]
	run --separate-stderr fold-pm dead-letters --name fulfil
	assert_failure 1
	assert_stderr_line -n 0 -p 'fold-pm: error: no process manager "fulfil" in root'
}

# --- --batch --------------------------------------------------------------------

@test "--batch: many records per request, the same commands and ids as one at a time" {
	stock widget 10
	for n in 1 2 3 4 5; do place "o-$n" widget 1; done
	# Two process managers over the same records: one record per request,
	# and up to 4 per request with the tagging jq and Go handlers.
	run --separate-stderr fold-pm --name one --subscribe order --handler "$FULFIL_JQ"
	assert_success
	one=$(jq -c '{command_id: (.command_id | sub("^fold-pm:one/"; "")), aggregate_type, instance_id, command}' <<<"$output")
	[[ $(wc -l <<<"$one") -eq 5 ]]
	for h in "$FULFIL_JQ" "$SAGA_GO"; do
		rm -rf "$ROOT/process_managers/many"
		run --separate-stderr fold-pm --name many --subscribe order --batch 4 --handler "$h"
		assert_success
		many=$(jq -c '{command_id: (.command_id | sub("^fold-pm:many/"; "")), aggregate_type, instance_id, command}' <<<"$output")
		[[ $many == "$one" ]] || { echo "batched: $many"; echo "one by one: $one"; false; }
	done
}

@test "--batch with a handler that does not tag its commands stops before emitting anything" {
	place o-1 widget 1
	place o-2 widget 1
	untagged="jq --unbuffered -c '{state: null, commands: [.records[] | {aggregate_type: \"inventory\", instance_id: \"w\", command: {type: \"Reserve\"}}]}'"
	run --separate-stderr fold-pm --name u --subscribe order --batch 2 --handler "$untagged"
	assert_failure 1
	assert_output ""
	assert_stderr --partial '"record": index'
	[[ ! -e $ROOT/process_managers/u/checkpoint.json ]] || ! grep -q order "$ROOT/process_managers/u/checkpoint.json"
}
