#!/usr/bin/env bats
# Copying a store between the file backend and NATS JetStream, as a user
# would: fold-watch from one, fold-exec --inject into the other. The event
# lines, versions, offsets and hashes come through byte for byte, both
# ways, and copying again appends nothing. This file always needs a
# nats-server (make nats-server), whatever FOLD_TEST_STORE says.

load helpers

setup_file() { nats_setup_file; }

setup() {
	nats_setup
	COUNTER=$COUNTER_GO
}

# by_stream [FILE]: records sorted by stream and version: a copy creates
# streams in parallel, so the order of discovery may differ from the
# original's.
by_stream() { jq -c -s 'sort_by(.aggregate_type, .instance_id, .version)[]' "$@"; }

# a_root DIR: a file root with three streams, several events per command,
# context, command ids and snapshots.
a_root() {
	{
		envelopes a Increment 3 '"context":{"actor":"ann","correlation_id":"c-1"}'
		envelope b Increment '"command_id":"k-1"'
		envelope a Reset
		envelopes é.x Increment 2
		envelopes b Increment 4
	} | FOLD_ROOT=$1 exec_counter --snapshot-every 2 >/dev/null
}

@test "files -> NATS -> files: every log byte for byte, the same records" {
	a_root files
	fold-watch --root files >records.jsonl
	[[ $(wc -l <records.jsonl) -eq 11 ]]

	run --separate-stderr fold-exec --inject --store "$NATS" <records.jsonl
	assert_success
	refute_stderr
	diff records.jsonl - <<<"$output" # appended at the same versions, offsets, hashes
	run --separate-stderr fold-watch --store "$NATS"
	assert_success
	diff <(by_stream records.jsonl) <(by_stream <<<"$output")

	fold-watch --store "$NATS" | fold-exec --inject --root back >/dev/null
	local id
	for id in a b é.x; do
		cmp "files/streams/counter/$id/app.jsonl" "back/streams/counter/$id/app.jsonl"
	done
	diff <(jq -c '[.type, .id]' files/meta/streams.jsonl | sort) <(jq -c '[.type, .id]' back/meta/streams.jsonl | sort)

	# state read from NATS (through its snapshots) is the files' state
	run fold-exec state --store "$NATS" --handler counter="$COUNTER" counter b
	assert_output '{"aggregate_type":"counter","instance_id":"b","version":5,"state":{"value":5}}'
}

@test "copying again appends nothing, both ways; new events follow on" {
	a_root files
	fold-watch --root files | fold-exec --inject --store "$NATS" >/dev/null
	run --separate-stderr fold-exec --inject --store "$NATS" --errors json < <(fold-watch --root files)
	assert_success
	assert_output ''
	[[ $(jq -r .kind <<<"$stderr" | sort | uniq -c | tr -s ' ') == ' 11 duplicate' ]] # each reported as a duplicate
	# commands on NATS, then the copy back brings exactly those
	envelopes a Increment 2 | exec_counter --store "$NATS" >new.jsonl
	[[ $(jq -r .version new.jsonl | paste -sd,) == 5,6 ]]
	fold-watch --store "$NATS" | fold-exec --inject --root files >copied.jsonl
	diff new.jsonl copied.jsonl
	diff <(fold-watch --root files | by_stream) <(fold-watch --store "$NATS" | by_stream)
}
