#!/usr/bin/env bats
# In-process jq handlers (--handler TYPE=jq:FILE, --handler jq:FILE): the
# example handlers run both ways, as a jq co-process and in-process, end in
# equal states (gojq writes object keys sorted, so states and event data are
# compared as JSON); errors, timeouts, the protocol copy and the environment
# behave as they do for a co-process.

load helpers

EX=$REPO/examples
SAGA=$EX/saga
INVENTORY_SH="sh $(sq "$SAGA/inventory.sh")"
SHIPPING_SH="sh $(sq "$SAGA/shipping.sh")"

# Each handler both ways: the co-process (jq) and in-process (gojq).
COUNTER_IN=jq:$EX/counter/counter.jq
TOTALS_JQ="jq --unbuffered -c -f $(sq "$EX/counter/total_counter.jq")"
TOTALS_IN=jq:$EX/counter/total_counter.jq
ORDER_JQ="jq --unbuffered -c -f $(sq "$SAGA/order.jq")"
ORDER_IN=jq:$SAGA/order.jq
FULFIL_JQ="jq --unbuffered -c -f $(sq "$SAGA/fulfil.jq")"
FULFIL_IN=jq:$SAGA/fulfil.jq

# sorted: each JSON line of stdin with its keys sorted.
sorted() { jq -S -c .; }

# dump ROOT ROUTES...: every stream of ROOT, one line each: its name, its
# state as `fold-exec state` gives it with the handlers ROUTES (TYPE=CMD),
# and its events' types and data; keys sorted.
dump() {
	local root=$1 t id r
	shift
	local args=()
	for r in "$@"; do args+=(--handler "$r"); done
	fold-exec streams --root "$root" | jq -r '"\(.aggregate_type) \(.instance_id)"' |
		while read -r t id; do
			printf '%s/%s ' "$t" "$id"
			fold-exec state --root "$root" "${args[@]}" "$t" "$id" | jq -S -c .state | tr '\n' ' '
			jq -S -c '[.type, .data]' "$root/streams/$t/$id/app.jsonl" | tr -d '\n'
			echo
		done
}

# counter_input: increments, decrements, resets and rejections over 20
# counters.
counter_input() {
	round_robin 300 20
	round_robin 20 20 Decrement
	round_robin 10 10 Reset
	round_robin 40 20 Decrement
	round_robin 40 20 Decrement
	round_robin 5 5 Explode
}

@test "counter: fold-exec with jq:counter.jq and with the jq co-process end in equal states" {
	skip_on_nats "compares two roots, which one store would mix"
	counter_input >in.jsonl
	run --separate-stderr fold-exec --root a --handler counter="$COUNTER_JQ" <in.jsonl
	assert_failure 1
	local out_jq=$output err_jq=$stderr
	run --separate-stderr fold-exec --root b --handler counter="$COUNTER_IN" <in.jsonl
	assert_failure 1
	# the same records (but for ids, times and hashes), the same rejections
	assert_equal "$(jq -c '[.aggregate_type, .instance_id, .version, .event.type, .event.data]' <<<"$output")" \
		"$(jq -c '[.aggregate_type, .instance_id, .version, .event.type, .event.data]' <<<"$out_jq")"
	assert_equal "$stderr" "$err_jq"
	[[ $(grep -c 'cannot decrement' <<<"$stderr") -gt 0 ]]
	# the same states and logs, whichever way they are read
	dump a counter="$COUNTER_JQ" >a.jq
	dump b counter="$COUNTER_IN" >b.in
	dump b counter="$COUNTER_JQ" >b.jq
	[[ $(wc -l <a.jq) -eq 20 ]]
	run diff a.jq b.in
	assert_success
	run diff a.jq b.jq
	assert_success
	ROOT=$BATS_TEST_TMPDIR/b check_log counter k0 >/dev/null
}

@test "counter: the untyped form with --type, and --jobs runners, in-process" {
	counter_input >in.jsonl
	run --separate-stderr fold-exec --root a --handler counter="$COUNTER_JQ" <in.jsonl
	run --separate-stderr fold-exec --root b --type counter --handler "$COUNTER_IN" --jobs 4 <in.jsonl
	assert_failure 1
	dump a counter="$COUNTER_IN" >a.dump
	dump b counter="$COUNTER_IN" >b.dump
	run diff a.dump b.dump
	assert_success
}

@test "total-counter projection: fold-project with jq:total_counter.jq and with jq agree" {
	counter_input | exec_counter >/dev/null 2>&1 || true
	run --separate-stderr fold-project --name jq --subscribe counter --handler "$TOTALS_JQ"
	assert_success
	local want=$output
	run --separate-stderr fold-project --name in --subscribe counter --handler "$TOTALS_IN"
	assert_success
	assert_json_eq "$output" "$want"
	assert_json_eq "$output" '{"total_increments":300,"total_decrements":60,"total_resets":10}'
	# from stdin, in batches, and again with nothing new
	fold-watch >records.jsonl
	run --separate-stderr fold-project --name in-stdin --subscribe counter --handler "$TOTALS_IN" --stdin --batch 7 <records.jsonl
	assert_success
	assert_json_eq "$output" "$want"
	run --separate-stderr fold-project --name in --subscribe counter --handler "$TOTALS_IN"
	assert_json_eq "$output" "$want"
}

@test "total-counter projection: in-process, batches of any size from the root give jq's state" {
	counter_input | exec_counter >/dev/null 2>&1 || true
	run --separate-stderr fold-project --name jq --subscribe counter --handler "$TOTALS_JQ" --batch 5
	assert_success
	local want=$output n
	# each batch is decoded while the one before runs
	for n in 1 3 64 1024; do
		run --separate-stderr fold-project --name in --subscribe counter --handler "$TOTALS_IN" --batch "$n" --rebuild
		assert_success
		assert_json_eq "$output" "$want"
	done
}

# saga ROOT ORDER FULFIL: the saga of examples/saga on ROOT, with the order
# and fulfil handlers given (inventory and shipping in sh), dispatched by
# fold-pm until nothing is left to do.
saga() {
	local root=$1 order=$2 fulfil=$3 i c
	shop() { fold-exec --root "$root" --handler order="$order" --handler inventory="$INVENTORY_SH" "$@"; }
	# one run each, so that the streams are made (and the process manager
	# reads them) in this order
	for c in \
		'{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":5}}}' \
		'{"aggregate_type":"inventory","instance_id":"gadget","command":{"type":"Stock","data":{"qty":1}}}' \
		'{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}}}' \
		'{"aggregate_type":"order","instance_id":"o-2","command":{"type":"Place","data":{"sku":"gadget","qty":3}}}' \
		'{"aggregate_type":"order","instance_id":"o-3","command":{"type":"Place","data":{"sku":"widget","qty":3}}}'; do
		printf '%s\n' "$c" | shop >/dev/null || return 1
	done
	# the first round as a pipe, the rest dispatched
	fold-pm --root "$root" --name fulfil --subscribe order,inventory --handler "$fulfil" | shop >/dev/null || return 1
	for ((i = 0; i < 5; i++)); do
		fold-pm --root "$root" --name fulfil --subscribe order,inventory --handler "$fulfil" --dispatch \
			--handler order="$order" --handler inventory="$INVENTORY_SH" --handler shipping="$SHIPPING_SH" >round.$i || return 1
		[[ -s round.$i ]] || return 0
	done
	return 1
}

@test "saga: the order aggregate and the fulfil process manager in-process end as with jq" {
	skip_on_nats "compares two roots, which one store would mix"
	saga a "$ORDER_JQ" "$FULFIL_JQ"
	saga b "$ORDER_IN" "$FULFIL_IN"
	dump a order="$ORDER_JQ" inventory="$INVENTORY_SH" shipping="$SHIPPING_SH" >a.dump
	dump b order="$ORDER_IN" inventory="$INVENTORY_SH" shipping="$SHIPPING_SH" >b.dump
	run diff a.dump b.dump
	assert_success
	run grep -c . b.dump
	assert_output 7
	run jq -r '.state.status' < <(fold-exec state --root b --handler order="$ORDER_IN" order o-2)
	assert_output cancelled
	# the process manager's own state, in its checkpoint
	assert_json_eq "$(jq -c .state a/process_managers/fulfil/checkpoint.json)" "$(jq -c .state b/process_managers/fulfil/checkpoint.json)"
	assert_json_eq "$(jq -c .state b/process_managers/fulfil/checkpoint.json)" '{"placed":3,"confirmed":2,"cancelled":1}'
}

@test "the handler's environment: FOLD_ROLE and the rest, as a co-process sees them" {
	local probe=$HANDLERS/probe.jq
	TYPE=probe envelope p1 Go >in.jsonl
	fold-exec --root a --handler probe="jq --unbuffered -c -f $(sq "$probe")" <in.jsonl >jq.out
	fold-exec --root b --handler probe="jq:$probe" <in.jsonl >in.out
	assert_json_eq "$(jq -c '.event.data.env | del(.FOLD_ROOT)' in.out)" "$(jq -c '.event.data.env | del(.FOLD_ROOT)' jq.out)"
	assert_json_eq "$(jq -c .event.data.env in.out)" \
		'{"FOLD_PROTOCOL":"1","FOLD_ROLE":"aggregate","FOLD_ROOT":"b","FOLD_AGGREGATE_TYPE":"probe"}'
	# a projection's and a process manager's
	printf '%s\n' '{state: {role: env.FOLD_ROLE, name: $ENV.FOLD_NAME}}' >role.jq
	run fold-project --root b --name totals --subscribe probe --handler jq:role.jq
	assert_output '{"name":"totals","role":"projection"}'
	printf '%s\n' '{state: {role: env.FOLD_ROLE, name: $ENV.FOLD_NAME}, commands: []}' >role.jq
	fold-pm --root b --name fulfil --subscribe probe --handler jq:role.jq && fold-pm --root b --name fulfil --commit
	run jq -c .state b/process_managers/fulfil/checkpoint.json
	assert_output '{"name":"fulfil","role":"process_manager"}'
}

@test "FOLD_DEBUG=protocol copies each request and answer, as for a co-process" {
	envelope a Increment >in.jsonl
	FOLD_DEBUG=protocol run --separate-stderr fold-exec --handler counter="$COUNTER_IN" <in.jsonl
	assert_success
	assert_stderr_line -n 0 'fold: protocol > {"op":"apply","aggregate_type":"counter","instance_id":"","state":null,"events":[]}'
	assert_stderr_line -n 1 'fold: protocol < {"state":{"value":0}}'
	assert_stderr_line -n 2 -p 'fold: protocol > {"op":"handle","aggregate_type":"counter","instance_id":"a","version":0,'
	assert_stderr_line -n 3 'fold: protocol < {"events":[{"data":null,"type":"Incremented"}],"state":{"value":1}}'
	[[ ${#stderr_lines[@]} -eq 4 ]]
}

@test "a jq error fails its line, naming the handler; the next lines go on" {
	printf '%s\n' 'if .op == "apply" then {state: null} elif .command.type == "Boom" then error("boom: \(.instance_id)") else {events: [{type: "Incremented"}]} end' >boom.jq
	{
		envelope a Increment
		envelope a Boom
		envelope a Increment
	} >in.jsonl
	run --separate-stderr fold-exec --handler counter=jq:boom.jq <in.jsonl
	assert_failure 1
	[[ ${#lines[@]} -eq 2 ]]
	assert_stderr_line 'fold-exec: error: line 2: handler "jq:boom.jq" failed: jq: error: boom: a'
	run --separate-stderr fold-exec --handler counter=jq:boom.jq --errors json < <(envelope a Boom)
	run jq -r .kind <<<"$stderr"
	assert_output handler_failed
}

@test "a jq program that loops for ever is stopped by --handler-timeout" {
	printf '%s\n' 'if .op == "apply" then {state: null} elif .command.type == "Loop" then until(false; .) else {events: [{type: "Incremented"}]} end' >loop.jq
	{
		envelope a Loop
		envelope a Increment
	} >in.jsonl
	run --separate-stderr fold-exec --handler counter=jq:loop.jq --handler-timeout 1s <in.jsonl
	assert_failure 1
	[[ ${#lines[@]} -eq 1 ]]
	assert_stderr_line 'fold-exec: error: line 1: handler "jq:loop.jq" did not answer within 1s'
}

@test "no answer, two answers, not an object: the co-process's kinds of error" {
	printf '%s\n' 'if .op == "apply" then {state: null} elif .command.type == "None" then empty elif .command.type == "Two" then {events: []}, {events: []} else [1] end' >odd.jq
	{
		envelope a None
		envelope a Two
		envelope a Array
	} >in.jsonl
	run --separate-stderr fold-exec --handler counter=jq:odd.jq <in.jsonl
	assert_failure 1
	assert_stderr_line 'fold-exec: error: line 1: handler "jq:odd.jq" gave no answer (the program had no output for the request)'
	assert_stderr_line 'fold-exec: error: line 2: handler "jq:odd.jq" answered more than once (the program had more than one output for the request): "{\"events\":[]}"'
	assert_stderr_line 'fold-exec: error: line 3: handler "jq:odd.jq" answered with something that is not a JSON object: "[1]"'
}

@test "a jq program that cannot be read or compiled is one error, exit 3, nothing read" {
	printf '%s\n' '{events: [}' >bad.jq
	envelope a Increment >in.jsonl
	run --separate-stderr sh -c 'fold-exec --handler counter=jq:bad.jq; echo "status $?"; cat' <in.jsonl
	assert_line -n 0 'status 3'
	assert_line -n 1 "$(cat in.jsonl)"
	assert_stderr_line 'fold-exec: error: handler "jq:bad.jq" cannot start: its program does not parse: bad.jq:1:11: unexpected token "}"'
	run --separate-stderr fold-project --name t --subscribe counter --handler jq:nosuch.jq
	assert_failure 3
	assert_stderr_line 'fold-project: error: handler "jq:nosuch.jq" cannot start: cannot read its program: open nosuch.jq: no such file or directory'
	printf '%s\n' '{state: $__loc__}' >loc.jq
	inc a 1 # fold-pm starts nothing without a root to react to
	run --separate-stderr fold-pm --name p --subscribe counter --handler jq:loc.jq
	assert_failure 3
	assert_stderr_line 'fold-pm: error: handler "jq:loc.jq" cannot start: its program does not compile: variable not defined: $__loc__'
	assert_stderr_line -p 'fold-pm: hint: in-process handlers run gojq'
}

# example_runs DOC TEXT: TEXT is in DOC verbatim (each line, leading space
# aside), and runs from the repository's top directory on a fresh root.
example_runs() {
	local doc=$1 text=$2 line
	while IFS= read -r line; do
		line=${line#"${line%%[! ]*}"}
		grep -qF -- "$line" <<<"$doc" || fail "not in the docs: $line"
	done <<<"$text"
	(cd "$REPO" && sh -c "$text") >/dev/null || fail "failed: $text"
}

@test "the jq: examples of --help, the man pages and the README run verbatim" {
	local saga="$REPO/examples/saga"
	printf '%s\n' '{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}}}' |
		fold-exec --handler order=jq:"$saga/order.jq" >/dev/null
	example_runs "$(fold-exec --help)" "echo '{\"instance_id\":\"a\",\"command\":{\"type\":\"Increment\"}}' |
     fold-exec --type counter --handler jq:examples/counter/counter.jq"
	example_runs "$(cat "$REPO/man/fold-exec.1.md")" "    echo '{\"instance_id\":\"alpha\",\"command\":{\"type\":\"Increment\"}}' |
      fold-exec --type counter --handler jq:examples/counter/counter.jq"
	example_runs "$(cat "$REPO/README.md")" "echo '{\"aggregate_type\":\"counter\",\"instance_id\":\"alpha\",\"command\":{\"type\":\"Increment\"}}' |
  fold-exec --handler counter=jq:examples/counter/counter.jq"
	[[ $(value_of alpha) -eq 2 && $(value_of a) -eq 1 ]]
	example_runs "$(fold-project --help)" "   fold-project --name total-counter --subscribe counter \\
     --handler jq:examples/counter/total_counter.jq"
	example_runs "$(cat "$REPO/man/fold-project.1.md")" "    fold-project --name total-counter --subscribe counter \\
      --handler jq:examples/counter/total_counter.jq"
	example_runs "$(fold-pm --help)" "   fold-pm --name fulfil --subscribe order,inventory --handler jq:examples/saga/fulfil.jq --dispatch \\
     --handler order=jq:examples/saga/order.jq --handler inventory='sh examples/saga/inventory.sh'"
	example_runs "$(cat "$REPO/man/fold-pm.1.md")" "    fold-pm --name fulfil --subscribe order,inventory \\
            --handler jq:examples/saga/fulfil.jq --dispatch \\
            --handler order=jq:examples/saga/order.jq \\
            --handler inventory='sh examples/saga/inventory.sh'"
	run jq -c .state "$ROOT/process_managers/fulfil/checkpoint.json"
	assert_output '{"cancelled":1,"confirmed":0,"placed":1}'
	[[ $(log_types inventory widget) == ReservationFailed ]]
}
