#!/usr/bin/env bats
# Nothing read from disk or pipe is trusted: snapshots that do not match
# their log, lines over the size limit, invalid UTF-8 in ids, records whose
# event is not an object, negative durations, and relays that must stay
# byte for byte (issues 12 and 10).

load helpers

# put_snapshot TYPE ID JSON: write a stream's snapshot file.
put_snapshot() {
	local snap
	snap=$(snapshot_file "$1" "$2")
	mkdir -p "$(dirname "$snap")"
	printf '%s' "$3" >"$snap"
}

@test "snapshot: offset 0 with a bogus hash and version is not trusted" {
	inc a 3
	put_snapshot counter a '{"state":{"value":99},"offset":0,"hash":"x","version":99}'
	run --separate-stderr state_of a
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"a","version":3,"state":{"value":3}}'
	assert_stderr --partial 'ignoring invalid snapshot'
	# and the next command is recorded as version 4, not 103
	run --separate-stderr exec_counter < <(envelope a Increment '"expected_version":3')
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 4 ]]
	check_records <<<"$output"
	# the writer replaced the bad snapshot with one that matches
	run jq -c '[.state, .offset, .version]' "$(snapshot_file counter a)"
	assert_output "[{\"value\":4},$(wc -c <"$(log_file counter a)"),4]"
}

@test "snapshot: right offset and hash but a wrong version is not trusted" {
	inc a 3
	local log size hash
	log=$(log_file counter a)
	size=$(wc -c <"$log")
	hash=$(tail -n 1 "$log" | xxh64)
	put_snapshot counter a "{\"state\":{\"value\":42},\"offset\":$size,\"hash\":\"$hash\",\"version\":99}"
	run --separate-stderr state_of a
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"a","version":3,"state":{"value":3}}'
	assert_stderr --partial 'version does not match'
	# the same snapshot with the right version is used (only it says 42)
	put_snapshot counter a "{\"state\":{\"value\":42},\"offset\":$size,\"hash\":\"$hash\",\"version\":3}"
	run --separate-stderr state_of a
	assert_output '{"aggregate_type":"counter","instance_id":"a","version":3,"state":{"value":42}}'
	refute_stderr
}

@test "snapshot: a negative offset is ignored and rebuilt, not fatal" {
	inc a 3
	put_snapshot counter a '{"state":{"value":99},"offset":-5,"hash":"0000000000000000","version":1}'
	run --separate-stderr state_of a
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"a","version":3,"state":{"value":3}}'
	assert_stderr --partial 'offset -5 is negative'
	run --separate-stderr exec_counter < <(envelope a Increment)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 4 ]]
	run value_of a
	assert_output 4
}
