#!/usr/bin/env bats
# Creating a stream is all or nothing: a creation that fails part way
# leaves no log and no directory behind.

load helpers

@test "a registry that cannot be written: exit 3, no stream left behind, the next run creates it" {
	skip_on_nats "makes the root's registry unwritable"
	inc b
	# The tests run as root, for whom no permission bit stops a write: a
	# directory where the registry file should be does.
	mv "$ROOT/meta/streams.jsonl" registry.saved
	mkdir "$ROOT/meta/streams.jsonl"
	run --separate-stderr exec_counter <<<"$(envelope a Increment)"
	assert_failure 3
	assert_output ''
	assert_stderr_line --partial 'create stream counter/a: register stream:'
	assert_stderr_line --partial 'meta/streams.jsonl: is a directory'
	assert_no_stream counter a
	[[ $(ls "$ROOT/streams/counter") == b ]] || fail "streams/counter holds $(ls "$ROOT/streams/counter")"

	rmdir "$ROOT/meta/streams.jsonl"
	mv registry.saved "$ROOT/meta/streams.jsonl"
	run --separate-stderr fold-exec streams
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"b"}'
	run --separate-stderr exec_counter <<<"$(envelope a Increment)"
	assert_success
	[[ $(jq -r .version <<<"$output") == 1 ]] || fail "version $(jq -r .version <<<"$output")"
	[[ $(jq -r '.id' "$ROOT/meta/streams.jsonl" | paste -sd,) == b,a ]] || fail "registry: $(cat "$ROOT/meta/streams.jsonl")"
}

@test "the root's first stream with an unwritable registry: no streams/ at all" {
	skip_on_nats "makes the root's registry unwritable"
	mkdir -p "$ROOT/meta/streams.jsonl"
	run --separate-stderr exec_counter <<<"$(envelope a Increment)"
	assert_failure 3
	[[ ! -e $ROOT/streams ]] || fail "streams/ was made: $(find "$ROOT/streams")"
}
