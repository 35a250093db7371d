#!/usr/bin/env bats
# fold-exec end to end: the eventfold-es counter driven through the three
# example handlers, the records it prints against the files it writes,
# `state`, `streams`, the handler protocol as a handler sees it, and where the
# root lives.

load helpers

# counter_story HANDLER: the eventfold-es counter example, plus the two
# rejections, with HANDLER; checks stdout, stderr, exit status and the root.
counter_story() {
	COUNTER=$1
	{
		envelopes alpha Increment 3
		envelope alpha Reset
		envelope beta Increment
		envelope beta Decrement
		envelope beta Increment
		envelope gamma Decrement
		envelope gamma Reset
	} >in.jsonl

	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	local records=$output

	# stderr: the two rejections, by line number, nothing else
	[[ ${#stderr_lines[@]} -eq 2 ]] || fail "stderr: $stderr"
	assert_stderr_line -n 0 -e '^fold-exec: error: line 8: .*counter is already zero, cannot decrement$'
	assert_stderr_line -n 1 -e '^fold-exec: error: line 9: .*nothing to reset$'

	# stdout: the seven events, in input order, versions per stream
	run jq -c '[.aggregate_type, .instance_id, .version, .event.type, .event.data]' <<<"$records"
	assert_output - <<-'EOF'
		["counter","alpha",1,"Incremented",null]
		["counter","alpha",2,"Incremented",null]
		["counter","alpha",3,"Incremented",null]
		["counter","alpha",4,"WasReset",{"previous":3}]
		["counter","beta",1,"Incremented",null]
		["counter","beta",2,"Decremented",null]
		["counter","beta",3,"Incremented",null]
	EOF

	# the records are the lines on disk: event byte for byte, offset, hash
	check_records <<<"$records"
	[[ $(log_lines counter alpha) -eq 4 && $(log_lines counter beta) -eq 3 ]]
	assert_no_stream counter gamma # rejected only: nothing created
	# registered once each (in the order they were created, which for
	# instances run in parallel need not be the input's)
	run sh -c 'jq -c "[.type, .id]" "$1" | sort' - "$(streams_root)/meta/streams.jsonl"
	assert_output - <<-'EOF'
		["counter","alpha"]
		["counter","beta"]
	EOF
}

# check_state_after_story: what `state` says after counter_story.
check_state_after_story() {
	run --separate-stderr state_of alpha
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":4,"state":{"value":0}}'
	refute_stderr
	run --separate-stderr state_of beta
	assert_output '{"aggregate_type":"counter","instance_id":"beta","version":3,"state":{"value":1}}'
	run state_of alpha --at-version 2
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":2,"state":{"value":2}}'
	run state_of alpha --at-version 3
	assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":3,"state":{"value":3}}'
	run state_of beta --at-version 2
	assert_output '{"aggregate_type":"counter","instance_id":"beta","version":2,"state":{"value":0}}'
	run --separate-stderr state_of alpha --at-version 5
	assert_failure
	run --separate-stderr state_of gamma
	assert_failure 1
	assert_stderr --partial 'no such stream'
}

@test "counter with the jq handler: alpha, beta, rejections, state" {
	counter_story "$COUNTER_JQ"
	check_state_after_story
}

@test "counter with the sh handler: alpha, beta, rejections, state" {
	counter_story "$COUNTER_SH"
	check_state_after_story
}

@test "counter with the Go handler: alpha, beta, rejections, state" {
	counter_story "$COUNTER_GO"
	check_state_after_story
}

@test "the three handlers agree on state, whichever wrote the log" {
	COUNTER=$COUNTER_SH inc alpha 2
	COUNTER=$COUNTER_GO inc alpha 1
	envelope alpha Reset | COUNTER=$COUNTER_JQ exec_counter >/dev/null
	inc alpha 1
	for h in "$COUNTER_JQ" "$COUNTER_SH" "$COUNTER_GO"; do
		COUNTER=$h run state_of alpha
		assert_success
		assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":5,"state":{"value":1}}'
		COUNTER=$h run state_of alpha --at-version 3
		assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":3,"state":{"value":3}}'
	done
	run jq -c .data "$(log_file counter alpha)"
	assert_line -n 3 '{"previous":3}'
}

@test "event lines: eventfold's keys in order, a UUID v4 id, ts now" {
	local before after
	before=$(date +%s)
	inc alpha 2
	envelope alpha Reset | exec_counter >/dev/null
	after=$(date +%s)
	run jq -c 'keys_unsorted' "$(log_file counter alpha)"
	assert_output - <<-'EOF'
		["type","data","ts","id"]
		["type","data","ts","id"]
		["type","data","ts","id"]
	EOF
	run jq -r '.id' "$(log_file counter alpha)"
	for id in "${lines[@]}"; do
		[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] ||
			fail "id $id is not a UUID v4"
	done
	run jq -r '.ts' "$(log_file counter alpha)"
	for ts in "${lines[@]}"; do
		((ts >= before && ts <= after)) || fail "ts $ts not in [$before, $after]"
	done
}

@test "records: offset is the byte size after the line, hash its xxh64" {
	inc alpha 3
	run --separate-stderr exec_counter < <(envelope alpha Reset)
	assert_success
	refute_stderr
	local rec=$output log
	log=$(log_file counter alpha)
	# computed here from the file, without foldcheck's record logic
	[[ $(jq -r .version <<<"$rec") -eq 4 ]]
	[[ $(jq -r .offset <<<"$rec") -eq $(head -n 4 "$log" | wc -c) ]]
	[[ $(jq -r .offset <<<"$rec") -eq $(wc -c <"$log") ]]
	[[ $(jq -r .hash <<<"$rec") == "$(sed -n 4p "$log" | xxh64)" ]]
	[[ $(jq -c .event <<<"$rec") == "$(sed -n 4p "$log")" ]]
	# and the snapshot left behind covers exactly that (a file; on NATS it
	# is in the snapshot bucket)
	on_nats && return 0
	run jq -c '[.state, .offset, .hash]' "$(snapshot_file counter alpha)"
	assert_output "[{\"value\":0},$(wc -c <"$log"),\"$(sed -n 4p "$log" | xxh64)\"]"
}

@test "context and command_id map onto actor and meta" {
	envelope alpha Increment '"context":{"actor":"cli","correlation_id":"c-1","metadata":{"k":"v"},"source_device":"laptop"},"command_id":"cmd-1"' >in.jsonl
	envelope alpha Increment '"context":{"actor":"bob"}' >>in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_success
	check_records <<<"$output"
	local log
	log=$(log_file counter alpha)
	run jq -c '[.actor, .meta]' "$log"
	assert_line -n 1 '["bob",null]'
	assert_json_eq "$(sed -n 1p "$log" | jq -c '.meta')" \
		'{"correlation_id":"c-1","source_device":"laptop","k":"v","command_id":"cmd-1"}'
	[[ $(sed -n 1p "$log" | jq -r .actor) == cli ]]
	run jq -c 'keys_unsorted' "$log"
	assert_line -n 0 '["type","data","ts","id","actor","meta"]'
	assert_line -n 1 '["type","data","ts","id","actor"]'
}

@test "handler protocol: the handle request and the handler's environment" {
	local probe
	probe="jq --unbuffered -c -f $(sq "$HANDLERS/probe.jq")"
	{
		TYPE=probe envelope p1 Go '"context":{"actor":"cli","correlation_id":"c-1"}'
		TYPE=probe envelope p1 Go
	} >in.jsonl
	run --separate-stderr fold-exec --handler probe="$probe" <in.jsonl
	assert_success
	run jq -c '.event.data | [.aggregate_type, .instance_id, .version, .state, .command]' <<<"$output"
	assert_output - <<-'EOF'
		["probe","p1",0,null,{"type":"Go"}]
		["probe","p1",1,1,{"type":"Go"}]
	EOF
	local data
	data=$(sed -n 1p "$(log_file probe p1)" | jq -c .data)
	assert_json_eq "$(jq -c .env <<<"$data")" \
		"{\"FOLD_PROTOCOL\":\"1\",\"FOLD_ROLE\":\"aggregate\",\"FOLD_ROOT\":\"$ROOT\",\"FOLD_AGGREGATE_TYPE\":\"probe\"}"
	[[ $(jq -r .context.actor <<<"$data") == cli ]]
	[[ $(jq -r .context.correlation_id <<<"$data") == c-1 ]]

	# a new process replays through apply: the handler's state, version 2
	TYPE=probe envelope p1 Go | fold-exec --handler probe="$probe" >out.jsonl
	run jq -c '.event.data | [.version, .state]' out.jsonl
	assert_output '[2,2]'
}

@test "a one-shot handler is started again for every request" {
	COUNTER="sh $(sq "$HANDLERS/oneshot.sh")"
	{
		envelopes alpha Increment 4
		envelope alpha Reset
		envelope alpha Reset
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	run jq -c '[.version, .event.type]' <<<"$output"
	assert_output - <<-'EOF'
		[1,"Incremented"]
		[2,"Incremented"]
		[3,"Incremented"]
		[4,"Incremented"]
		[5,"WasReset"]
	EOF
	[[ ${#stderr_lines[@]} -eq 1 ]] || fail "stderr: $stderr"
	run state_of alpha
	assert_output '{"aggregate_type":"counter","instance_id":"alpha","version":5,"state":{"value":0}}'
}

@test "a second run continues where the first stopped" {
	skip_on_nats "removes a snapshot file"
	COUNTER=$COUNTER_GO
	inc alpha 3
	run --separate-stderr exec_counter < <(envelope alpha Increment)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 4 ]]
	check_records <<<"$output"
	# without a snapshot too
	rm "$(snapshot_file counter alpha)"
	run exec_counter < <(envelope alpha Decrement)
	[[ $(jq -r .version <<<"$output") -eq 5 ]]
	[[ $(value_of alpha) -eq 3 ]]
}

@test "streams: sorted by type then id; --type filters" {
	COUNTER=$COUNTER_GO
	{
		envelope zeta Increment
		TYPE=other envelope b Increment
		envelope alpha Increment
		TYPE=other envelope a Increment
		envelope mid Increment
	} >in.jsonl
	fold-exec --handler counter="$COUNTER_GO" --handler other="$COUNTER_GO" <in.jsonl >/dev/null
	run --separate-stderr fold-exec streams
	assert_success
	refute_stderr
	assert_output - <<-'EOF'
		{"aggregate_type":"counter","instance_id":"alpha"}
		{"aggregate_type":"counter","instance_id":"mid"}
		{"aggregate_type":"counter","instance_id":"zeta"}
		{"aggregate_type":"other","instance_id":"a"}
		{"aggregate_type":"other","instance_id":"b"}
	EOF
	run fold-exec streams --type other
	assert_success
	assert_output - <<-'EOF'
		{"aggregate_type":"other","instance_id":"a"}
		{"aggregate_type":"other","instance_id":"b"}
	EOF
	# each stream registered once
	run sh -c 'jq -r ".type + \"/\" + .id" "$1" | sort' - "$(streams_root)/meta/streams.jsonl"
	assert_output - <<-'EOF'
		counter/alpha
		counter/mid
		counter/zeta
		other/a
		other/b
	EOF
}

@test "readers never create a root; state of a missing stream is an error" {
	run --separate-stderr fold-exec streams
	assert_success
	assert_output ''
	run --separate-stderr state_of alpha
	assert_failure 1
	assert_stderr --partial 'no such stream'
	assert_stderr --partial '"counter/alpha"'
	[[ ! -e $ROOT ]] || fail "a reader created $ROOT"
	inc beta
	run --separate-stderr state_of alpha
	assert_failure 1
	assert_no_stream counter alpha
}

@test "root: --root, else FOLD_ROOT, else ./fold-data" {
	skip_on_nats "streams are not in the root"
	COUNTER=$COUNTER_GO
	inc a
	[[ -f $ROOT/streams/counter/a/app.jsonl ]]
	envelope b Increment | exec_counter --root "$BATS_TEST_TMPDIR/other" >/dev/null
	[[ -f $BATS_TEST_TMPDIR/other/streams/counter/b/app.jsonl ]]
	assert_no_stream counter b
	unset FOLD_ROOT
	mkdir wd && cd wd
	inc c
	[[ -f fold-data/streams/counter/c/app.jsonl ]]
	run fold-exec streams
	assert_output '{"aggregate_type":"counter","instance_id":"c"}'
}

@test "options before a subcommand count as after it; after it they win" {
	COUNTER=$COUNTER_GO
	inc a 2
	local other=$BATS_TEST_TMPDIR/other
	unset FOLD_ROOT
	mkdir wd && cd wd
	run fold-exec --root "$ROOT" streams
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"a"}'
	run --separate-stderr fold-exec --root "$ROOT" --handler counter="$COUNTER" state counter a
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"a","version":2,"state":{"value":2}}'
	run fold-exec --root "$other" streams --root "$ROOT"
	assert_output '{"aggregate_type":"counter","instance_id":"a"}'
	FOLD_ROOT=$other run fold-exec --root "$ROOT" streams
	assert_output '{"aggregate_type":"counter","instance_id":"a"}'
	[[ ! -e fold-data && ! -e $other ]]
	run --separate-stderr fold-exec state --root "$ROOT" --handler counter="$COUNTER" --at-version 0 counter a
	assert_failure 2
	assert_equal "$stderr" $'fold-exec: error: --at-version "0" is not a version (versions are whole numbers from 1)\nfold-exec: hint: leave --at-version out for the state now'
	run --separate-stderr fold-exec streams --root "$ROOT" --type a/b
	assert_failure 2
	assert_equal "$stderr" 'fold-exec: error: --type: aggregate_type "a/b" is not a single path segment (contains /)'
}

@test "events are stored as the handler wrote them; several per command, or none" {
	cat >fixed.sh <<-'SH'
		# answers every handle with two events whose data must survive
		# byte for byte, or none for the command {"type":"Nothing"}
		while IFS= read -r line; do
			case $line in
			*'"op":"apply"'*) echo '{"state":null}' ;;
			*'"Nothing"'*) echo '{"events":[]}' ;;
			*) printf '%s\n' '{"events":[{"type":"Big","data":{"n":12345678901234567890,"f":0.10,"s":"<&>\u00e9é\u2028","z":-0}},{"type":"Bare"}]}' ;;
			esac
		done
	SH
	run --separate-stderr fold-exec --handler fixed="sh fixed.sh" < <(
		TYPE=fixed envelope x Go '"command_id":"c-1"'
		TYPE=fixed envelope x Nothing
		TYPE=fixed envelope y Nothing
	)
	assert_success
	refute_stderr
	check_records <<<"$output"
	run jq -c '[.version, .event.type]' <<<"$output"
	assert_output - <<-'EOF2'
		[1,"Big"]
		[2,"Bare"]
	EOF2
	local log
	log=$(log_file fixed x)
	run grep -c -F '"data":{"n":12345678901234567890,"f":0.10,"s":"<&>\u00e9é\u2028","z":-0},"ts":' "$log"
	assert_output 1
	run jq -c '[.type, .data, .meta.command_id]' "$log"
	assert_line -n 1 '["Bare",null,"c-1"]'
	# nothing decided, nothing created
	assert_no_stream fixed y
}

@test "output follows input order, whatever each instance's speed" {
	local k
	{
		for k in 1 2 3 4 5 6; do
			TYPE=slow envelope "s$((k % 2))" Increment
			TYPE=fast envelope "f$k" Increment
			TYPE=fast envelope f0 Increment
		done
	} >in.jsonl
	run --separate-stderr fold-exec --handler slow="$COUNTER_SH" --handler fast="$COUNTER_GO" <in.jsonl
	assert_success
	diff <(jq -c '[.aggregate_type, .instance_id]' in.jsonl) <(jq -c '[.aggregate_type, .instance_id]' <<<"$output")
	check_records <<<"$output"
}

@test "a stream missing from the registry is still listed, read and continued" {
	skip_on_nats "writes a stream's files"
	COUNTER=$COUNTER_GO
	inc a 2
	mkdir -p "$ROOT/streams/counter/orphan"
	cp "$(log_file counter a)" "$(log_file counter orphan)"
	run --separate-stderr fold-exec streams
	assert_success
	assert_output - <<-'EOF2'
		{"aggregate_type":"counter","instance_id":"a"}
		{"aggregate_type":"counter","instance_id":"orphan"}
	EOF2
	run state_of orphan
	assert_output '{"aggregate_type":"counter","instance_id":"orphan","version":2,"state":{"value":2}}'
	run --separate-stderr exec_counter < <(envelope orphan Increment)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 3 ]]
	check_records <<<"$output"
}
