#!/usr/bin/env bats
# What only a NATS JetStream store does: --store and FOLD_STORE, the order
# of appends across streams (fold-watch --order store), and what a server
# that is down or misconfigured means (exit 75, exit 3, nothing
# half-written). This file always needs a nats-server (make nats-server).

load helpers

setup_file() { nats_setup_file; }
setup() {
	nats_setup
	COUNTER=$COUNTER_GO
}

# own_server DIR [PORT]: a nats-server of the test's own, to stop and
# start (OWN_URL, OWN_PID); the file's stays NATS_URL.
own_server() {
	local url=$NATS_URL pid=$NATS_PID
	nats_start "$@" || return 1
	OWN_URL=$NATS_URL OWN_PID=$NATS_PID
	NATS_URL=$url NATS_PID=$pid
	track "$OWN_PID"
}

@test "--store and FOLD_STORE: the streams on the server, consumers' state in the root" {
	envelopes a Increment 2 | exec_counter --store "$NATS" >/dev/null
	FOLD_STORE=$NATS run --separate-stderr value_of a
	assert_output 2
	run --separate-stderr fold-exec streams --store "$NATS"
	assert_output '{"aggregate_type":"counter","instance_id":"a"}'
	[[ ! -e $ROOT/streams ]]
	FOLD_STORE=$NATS fold-watch --checkpoint mail >/dev/null && fold-watch --checkpoint mail --commit
	[[ -f $ROOT/consumers/mail/checkpoint.json ]]
	# the flag wins over the environment
	FOLD_STORE=$NATS_URL/other run fold-exec streams --store "$NATS"
	assert_output '{"aggregate_type":"counter","instance_id":"a"}'
}

@test "fold-watch --order store: records in the order they were appended across streams" {
	local i
	for i in 1 2 3; do
		envelope a Increment
		envelope b Increment
	done >in.jsonl
	# one command at a time, so the order of appends is the input's
	while read -r line; do exec_counter --store "$NATS" <<<"$line"; done <in.jsonl >acked.jsonl
	run --separate-stderr fold-watch --store "$NATS" --order store
	assert_success
	diff acked.jsonl - <<<"$output"
	run fold-watch --store "$NATS" --order store --type counter --stream counter/a
	diff acked.jsonl - <<<"$output"
	# stream by stream, the default
	run fold-watch --store "$NATS"
	diff <(jq -s -c 'sort_by(.instance_id)[]' acked.jsonl) - <<<"$output"

	run --separate-stderr fold-watch --order store
	assert_failure 2
	assert_stderr --partial 'keeps no order across streams'
	run --separate-stderr fold-watch --store "$NATS" --order time
	assert_failure 2
}

@test "a server that is down: exit 75 naming it, nothing half-written; then it goes on" {
	own_server "$BATS_TEST_TMPDIR/own"
	local url=$OWN_URL/d port=${OWN_URL##*:}
	envelopes a Increment 3 | exec_counter --store "$url" >acked.jsonl
	kill -9 "$OWN_PID"
	wait "$OWN_PID" 2>/dev/null || true

	run --separate-stderr exec_counter --store "$url" < <(envelopes a Increment 2)
	assert_failure 75
	assert_stderr_line -n 0 "fold-exec: error: connect to nats://127.0.0.1:$port/d: store unavailable: nats: no servers available for connection"
	assert_stderr_line -n 1 -p 'hint: is nats-server running there'
	run --separate-stderr fold-watch --store "$url"
	assert_failure 75

	# down in the middle of a run: the append gives up after ?timeout
	own_server "$BATS_TEST_TMPDIR/own" "$port"
	{
		envelope a Increment
		sleep 1
		envelope a Increment
	} | exec_counter --store "$url?timeout=1s" >more.jsonl 2>err &
	track $!
	local pid=$!
	wait_until 5 file_has_lines more.jsonl 1
	kill -9 "$OWN_PID"
	wait "$OWN_PID" 2>/dev/null || true
	local status=0
	wait "$pid" || status=$?
	[[ $status -eq 75 ]] || fail "fold-exec exited $status; want 75: $(cat err)"
	grep -q 'store unavailable' err

	own_server "$BATS_TEST_TMPDIR/own" "$port"
	run fold-watch --store "$url"
	diff <(cat acked.jsonl more.jsonl) - <<<"$output" # what was acknowledged, no more
	envelope a Increment | exec_counter --store "$url" >last.jsonl
	[[ $(jq .version last.jsonl) -eq 5 ]]
}

@test "a server without JetStream is exit 3; a URL that is not one is exit 2" {
	local bin dir=$BATS_TEST_TMPDIR/nojs
	bin=$(nats_server)
	mkdir -p "$dir"
	"$bin" -a 127.0.0.1 -p -1 --ports_file_dir "$dir" </dev/null 3>&- &
	track $!
	wait_until 5 compgen -G "$dir/*.ports"
	local url
	url=$(jq -r '.nats[0]' "$dir"/*.ports)
	run --separate-stderr fold-watch --store "$url"
	assert_failure 3
	assert_stderr --partial 'jetstream not enabled'
	run --separate-stderr fold-watch --store "nats://127.0.0.1:1/a.b"
	assert_failure 2
	assert_stderr --partial "may hold only letters"
	FOLD_STORE=/some/dir run --separate-stderr fold-watch
	assert_failure 2
	assert_stderr_line -n 0 'fold-watch: error: FOLD_STORE "/some/dir" is not nats://HOST:PORT[/NAME]'
}
