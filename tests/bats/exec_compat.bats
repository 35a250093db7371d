#!/usr/bin/env bats
# fold-exec on a root the real eventfold-es 0.2.0 wrote (the fixture's README
# says what a reader must find): read it, and continue it byte-compatibly.

load helpers

setup() {
	fold_setup
	skip_on_nats "reads and writes the eventfold-es root's files"
	copy_eventfold_root "$ROOT"
	COUNTER=$COUNTER_GO
}

@test "eventfold root: state of alpha, beta, gamma" {
	local h
	for h in "$COUNTER_JQ" "$COUNTER_SH" "$COUNTER_GO"; do
		COUNTER=$h
		run --separate-stderr state_of alpha
		assert_success
		refute_stderr
		assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":4,"state":{"value":0}}'
		run state_of beta
		assert_output '{"aggregate_type":"counter","instance_id":"beta","version":3,"state":{"value":1}}'
		run state_of gamma
		assert_output '{"aggregate_type":"counter","instance_id":"gamma","version":2,"state":{"value":0}}'
	done
	run state_of alpha --at-version 3
	assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":3,"state":{"value":3}}'
	# reading changed nothing
	diff -r "$EVENTFOLD_ROOT" "$ROOT"
}

@test "eventfold root: streams" {
	run --separate-stderr fold-exec streams
	assert_success
	refute_stderr
	assert_output - <<-'EOF'
		{"aggregate_type":"counter","instance_id":"alpha"}
		{"aggregate_type":"counter","instance_id":"beta"}
		{"aggregate_type":"counter","instance_id":"gamma"}
	EOF
}

@test "eventfold root: its pretty-printed snapshots (no version) are used" {
	# Same offset and hash, another state: only a reader that takes the
	# snapshot can answer 41 (the log alone says 1).
	local snap
	snap=$(snapshot_file counter beta)
	jq '.state.value = 41' "$snap" >snap.tmp && mv snap.tmp "$snap"
	run --separate-stderr state_of beta
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"beta","version":3,"state":{"value":41}}'
}

@test "eventfold root: one more Increment on beta continues byte-compatibly" {
	local log before
	log=$(log_file counter beta)
	before=$(cat "$log")
	run --separate-stderr exec_counter < <(envelope beta Increment '"context":{"actor":"example-runner"}')
	assert_success
	refute_stderr
	check_records <<<"$output"
	[[ $(jq -r .version <<<"$output") -eq 4 ]]
	[[ $(jq -r .offset <<<"$output") -eq $(($(wc -c <"$EVENTFOLD_ROOT/streams/counter/beta/app.jsonl") + $(tail -n 1 "$log" | wc -c))) ]]

	# the old lines are untouched, the new one is shaped as eventfold's
	[[ $(head -n 3 "$log") == "$before" ]]
	run sh -c 'tail -n 1 "$1" | jq -c keys_unsorted' - "$log"
	assert_output '["type","data","ts","id","actor"]'
	run sh -c 'tail -n 1 "$1" | jq -c "[.type, .data, .actor]"' - "$log"
	assert_output '["Incremented",null,"example-runner"]'
	[[ $(check_log counter beta) -eq 4 ]]

	# its snapshot is readable as eventfold's: state, offset, hash of the log
	run jq -c '[.state, .offset, .hash]' "$(snapshot_file counter beta)"
	assert_output "[{\"value\":2},$(wc -c <"$log"),\"$(tail -n 1 "$log" | xxh64)\"]"
	run state_of beta
	assert_output '{"aggregate_type":"counter","instance_id":"beta","version":4,"state":{"value":2}}'

	# the stream was not registered again; the others are untouched
	diff "$EVENTFOLD_ROOT/meta/streams.jsonl" "$ROOT/meta/streams.jsonl"
	diff -r "$EVENTFOLD_ROOT/streams/counter/alpha" "$ROOT/streams/counter/alpha"
	diff -r "$EVENTFOLD_ROOT/streams/counter/gamma" "$ROOT/streams/counter/gamma"
}

@test "eventfold root: alpha Reset is rejected at zero; gamma Decrement too" {
	{
		envelope alpha Reset
		envelope gamma Decrement
		envelope alpha Increment
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	assert_stderr_line -n 0 -e '^fold-exec: error: line 1: .*nothing to reset$'
	assert_stderr_line -n 1 -e '^fold-exec: error: line 2: .*counter is already zero, cannot decrement$'
	[[ $(jq -r .version <<<"$output") -eq 5 ]]
	check_records <<<"$output"
	diff -r "$EVENTFOLD_ROOT/streams/counter/gamma" "$ROOT/streams/counter/gamma"
}

@test "eventfold root: a new stream is registered after the old ones" {
	inc delta
	run jq -c '[.type, .id]' "$ROOT/meta/streams.jsonl"
	assert_output - <<-'EOF'
		["counter","alpha"]
		["counter","beta"]
		["counter","gamma"]
		["counter","delta"]
	EOF
	head -n 3 "$ROOT/meta/streams.jsonl" | diff "$EVENTFOLD_ROOT/meta/streams.jsonl" -
	run fold-exec streams
	assert_line -n 2 '{"aggregate_type":"counter","instance_id":"delta"}'
}
