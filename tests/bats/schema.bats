#!/usr/bin/env bats
# The JSON Schemas of docs/schema hold for real traffic: the requests and
# answers of every example handler (counter in jq, sh and Go, the
# TotalCounter projection in jq and Go, the fulfil saga in jq and Go) as
# FOLD_DEBUG=protocol copies them, and the records, envelopes, error
# records, event lines, registry, snapshots, checkpoints, dead letters and
# check reports that real runs write. A value that breaks a schema fails.

load helpers

FOLDSCHEMA=${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/foldschema
SCHEMAS=$REPO/docs/schema

setup_file() {
	fold_setup_file || return 1
	[[ -x $FOLDSCHEMA ]] && return 0
	(cd "$REPO" && go build -o "$FOLDSCHEMA.$$" ./tests/schema) && mv -f "$FOLDSCHEMA.$$" "$FOLDSCHEMA"
}

# valid [-whole|-protocol] SCHEMA FILE...: every value validates, and there
# is at least one.
valid() {
	local mode=()
	[[ $1 == -* ]] && mode=("$1") && shift
	run "$FOLDSCHEMA" "${mode[@]}" "$SCHEMAS" "$@"
	assert_success
	assert_output --regexp '^foldschema: [1-9][0-9]* valid, 0 invalid$'
}

SAGA=$REPO/examples/saga
ORDER="jq --unbuffered -c -f $(sq "$SAGA/order.jq")"
INVENTORY="sh $(sq "$SAGA/inventory.sh")"
SHIPPING="sh $(sq "$SAGA/shipping.sh")"
FULFIL="jq --unbuffered -c -f $(sq "$SAGA/fulfil.jq")"
TOTALS="jq --unbuffered -c -f $(sq "$REPO/examples/counter/total_counter.jq")"

# counter_traffic HANDLER NAME: commands (with a context, a command_id, an
# expected_version, a rejection) through HANDLER, then a fresh process
# that must replay (apply), each with FOLD_DEBUG=protocol into NAME.*.txt.
counter_traffic() {
	{
		envelope a Increment '"context":{"actor":"alice","correlation_id":"c-1","metadata":{"k":"v"},"source_device":"laptop"},"command_id":"x-1"'
		envelope a Increment '"expected_version":1'
		envelope a Reset
		envelope z Decrement
		envelope b Increment
	} >cmds.jsonl
	FOLD_DEBUG=protocol fold-exec --jobs 1 --snapshot-every 0 --errors json --handler counter="$1" \
		<cmds.jsonl >"$2.records.jsonl" 2>"$2.handle.txt" || true
	envelope a Increment | FOLD_DEBUG=protocol fold-exec --jobs 1 --snapshot-every 0 --handler counter="$1" \
		>>"$2.records.jsonl" 2>"$2.apply.txt"
	grep -q '"op":"apply"' "$2.apply.txt" || fail "no apply request in $2.apply.txt"
	grep -q '"error":' "$2.handle.txt" || fail "no rejection in $2.handle.txt"
}

@test "schema: counter in jq, sh and Go: handle and apply requests and answers, records, error records" {
	local name handler
	for name in jq sh go; do
		case $name in
		jq) handler=$COUNTER_JQ ;;
		sh) handler=$COUNTER_SH ;;
		go) handler=$COUNTER_GO ;;
		esac
		rm -rf "$ROOT"
		counter_traffic "$handler" "$name"
		valid -protocol "$name.handle.txt" "$name.apply.txt"
		valid record "$name.records.jsonl"
		grep '^{' "$name.handle.txt" >"$name.errors.jsonl"
		valid error-record "$name.errors.jsonl"
	done
}

@test "schema: TotalCounter in jq and Go: project requests and answers; the checkpoint" {
	inc a 3
	inc b 2
	FOLD_DEBUG=protocol fold-project --name totals --subscribe counter --handler "$TOTALS" >/dev/null 2>jq.txt
	FOLD_DEBUG=protocol fold-project --name totals-go --subscribe counter --handler "$(sq "$BIN/totals-go")" >/dev/null 2>go.txt
	grep -q '"op":"project"' jq.txt
	valid -protocol jq.txt go.txt
	valid -whole checkpoint "$ROOT/projections/totals/checkpoint.json" "$ROOT/projections/totals-go/checkpoint.json"
}

@test "schema: the fulfil saga in jq and Go: react requests and answers, envelopes, records, dead letters" {
	local name pm round
	fold-exec --handler inventory="$INVENTORY" >/dev/null <<'JSONL'
{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":5}}}
JSONL
	fold-exec --handler order="$ORDER" >/dev/null <<'JSONL'
{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}},"context":{"actor":"alice"}}
{"aggregate_type":"order","instance_id":"o-2","command":{"type":"Place","data":{"sku":"gadget","qty":1}}}
JSONL
	for name in jq go; do
		pm=$FULFIL
		[[ $name == go ]] && pm=$(sq "$BIN/saga-go")
		for round in 1 2 3 4; do
			# no shipping handler: Ship becomes a dead letter
			FOLD_DEBUG=protocol fold-pm --name "fulfil-$name" --subscribe order,inventory --handler "$pm" \
				2>>react.txt | tee -a envelopes.jsonl |
				fold-exec --handler order="$ORDER" --handler inventory="$INVENTORY" \
					--rejects "$ROOT/process_managers/fulfil/dead_letters.jsonl" >>records.jsonl
			fold-pm --name "fulfil-$name" --commit 2>/dev/null || true
		done
	done
	grep -q '"op":"react"' react.txt
	grep -q '"commands":\[{' react.txt || fail "no answer with commands"
	valid -protocol react.txt
	valid envelope envelopes.jsonl
	valid record records.jsonl
	valid dead-letter "$ROOT/process_managers/fulfil/dead_letters.jsonl"
	fold-watch >all.jsonl
	valid record all.jsonl
}

@test "schema: what is on disk: event lines, the registry, the change journal, snapshots, checkpoints, pending deliveries; check's report" {
	skip_on_nats
	inc a 120 # a snapshot at 100, and one when the actor exits
	inc b 1
	fold-watch --checkpoint mirror >/dev/null
	fold-watch --checkpoint mirror --commit
	fold-watch --checkpoint pend >/dev/null
	valid event "$ROOT"/streams/*/*/app.jsonl
	valid registry-entry "$ROOT/meta/streams.jsonl"
	valid change "$ROOT"/meta/changes.*.jsonl
	valid -whole snapshot "$ROOT"/streams/*/*/views/state.snapshot.json
	valid -whole checkpoint "$ROOT/consumers/mirror/checkpoint.json" "$ROOT/consumers/pend/pending.json"
	# and eventfold-es's own files
	valid event "$EVENTFOLD_ROOT"/streams/*/*/app.jsonl
	valid -whole snapshot "$EVENTFOLD_ROOT"/streams/*/*/views/state.snapshot.json
	valid -whole checkpoint "$EVENTFOLD_ROOT/projections/total-counter/checkpoint.json"
	valid registry-entry "$EVENTFOLD_ROOT/meta/streams.jsonl"

	printf '{"type"' >>"$(log_file counter b)"
	fold-exec check >report.jsonl || true
	fold-exec check --repair >>report.jsonl
	[[ $(grep -c torn_tail report.jsonl) -eq 2 ]]
	valid check-finding report.jsonl
}

@test "schema: a value that breaks a schema is refused, naming its line" {
	inc a 2
	fold-watch >records.jsonl
	# the second record without its hash, the third with version 0
	{
		head -1 records.jsonl
		tail -1 records.jsonl | jq -c 'del(.hash)'
		tail -1 records.jsonl | jq -c '.version = 0'
	} >bad.jsonl
	run "$FOLDSCHEMA" "$SCHEMAS" record bad.jsonl
	assert_failure 1
	assert_line --partial 'bad.jsonl:2: schema record:'
	assert_line --partial "missing property 'hash'"
	assert_line --partial 'bad.jsonl:3: schema record:'
	assert_line 'foldschema: 1 valid, 2 invalid'
	# an answer of the wrong shape for its request
	printf '%s\n' 'fold: protocol > {"op":"project","name":"t","state":null,"records":['"$(head -1 records.jsonl)"']}' \
		'fold: protocol < {"events":[]}' >proto.txt
	run "$FOLDSCHEMA" -protocol "$SCHEMAS" proto.txt
	assert_failure 1
	assert_line --partial 'proto.txt:2: schema project-answer:'
}
