#!/usr/bin/env bats
# Nothing read from disk or pipe is trusted: snapshots that do not match
# their log, lines over the size limit, invalid UTF-8 in ids, records whose
# event is not an object, negative durations, and relays that must stay
# byte for byte (issues 12 and 10).

load helpers

# totals_stdin: the TotalCounter projection over the records on stdin.
totals_stdin() {
	fold-project --name totals --subscribe counter --stdin \
		--handler "jq --unbuffered -c -f $(sq "$REPO/examples/counter/total_counter.jq")"
}

# three_records CMD...: in.jsonl holds the records of counter/a's two
# events with a copy of the first, edited by CMD, between them.
three_records() {
	inc a 2
	fold-watch >good.jsonl
	{
		head -1 good.jsonl
		head -1 good.jsonl | "$@"
		tail -1 good.jsonl
	} >in.jsonl
}

# put_snapshot TYPE ID JSON: write a stream's snapshot file.
put_snapshot() {
	local snap
	snap=$(snapshot_file "$1" "$2")
	mkdir -p "$(dirname "$snap")"
	printf '%s' "$3" >"$snap"
}

@test "snapshot: offset 0 with a bogus hash and version is not trusted" {
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
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
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
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
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
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

# --- invalid UTF-8 in ids -------------------------------------------------------

@test "utf-8: an id that is not UTF-8 is invalid_input; no stream is created" {
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
	printf '{"aggregate_type":"counter","instance_id":"a\xffb","command":{"type":"Increment"}}\n' >in.jsonl
	envelope ok Increment >>in.jsonl
	printf '{"aggregate_type":"counter","instance_id":"a\\ud800b","command":{"type":"Increment"}}\n' >>in.jsonl
	run --separate-stderr exec_counter --errors json <in.jsonl
	assert_failure 1
	[[ $(jq -r .instance_id <<<"$output") == ok ]]
	run jq -r '"\(.line) \(.kind) \(.message)"' <<<"$stderr"
	assert_line -n 0 '1 invalid_input instance_id "a\xffb" is not UTF-8'
	assert_line -n 1 -p '3 invalid_input \ud800 is a lone surrogate'
	run ls "$ROOT/streams/counter"
	assert_output ok
	# --inject refuses it the same way
	printf '{"aggregate_type":"counter","instance_id":"a\xffb","event":{"type":"Incremented","data":null,"ts":1}}\n' >in.jsonl
	run --separate-stderr fold-exec --inject <in.jsonl
	assert_failure 1
	assert_stderr -p 'error: line 1: instance_id "a\xffb" is not UTF-8'
	run ls "$ROOT/streams/counter"
	assert_output ok
}

@test "utf-8: fold-project --stdin refuses a record whose stream key is not UTF-8" {
	three_records sed 's/"instance_id":"a"/"instance_id":"a\xff"/'
	run --separate-stderr totals_stdin <in.jsonl
	assert_failure 1
	assert_output '{"total_increments":2,"total_decrements":0,"total_resets":0}'
	assert_stderr_line -n 0 -p 'fold-project: error: line 2: instance_id "a\xff" is not UTF-8'
	run jq -c '.cursors | keys' "$ROOT/projections/totals/checkpoint.json"
	assert_output '["counter/a"]'
}

# --- records whose event is not an object ----------------------------------------

@test "stdin records: an event that is not an object is one failed line, named, for fold-project and fold-pm" {
	three_records jq -c '.event = "Incremented" | .version = 7 | .offset = 999'
	run --separate-stderr totals_stdin <in.jsonl
	assert_failure 1
	assert_output '{"total_increments":2,"total_decrements":0,"total_resets":0}'
	assert_stderr_line -n 0 'fold-project: error: line 2: event "Incremented" is not a JSON object'

	# a jq process manager is never handed it (it would wait out the
	# whole --handler-timeout): the line fails at once
	run --separate-stderr fold-pm --name p --subscribe counter --handler-timeout 3s \
		--handler "jq --unbuffered -c -f $(sq "$REPO/examples/saga/fulfil.jq")" --stdin <in.jsonl
	assert_failure 1
	assert_stderr_line -n 0 'fold-pm: error: line 2: event "Incremented" is not a JSON object'
}

# --- compatibility, byte for byte --------------------------------------------------

@test "--inject refuses a negative ts: eventfold-es cannot read it" {
	{
		echo '{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":-5}}'
		echo '{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":5}}'
	} >in.jsonl
	run --separate-stderr fold-exec --inject --errors json <in.jsonl
	assert_failure 1
	run jq -r '[.line, .kind, .message] | @tsv' <<<"$stderr"
	assert_output $'1\tinvalid_input\tevent ts -5 is negative: eventfold-es cannot read a stream holding it'
	run jq -c '[.ts]' "$(log_file counter a)"
	assert_output '[5]'
}

@test "a relayed event's line is byte-identical to its source, U+2028 and U+2029 included" {
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
	local ls=$'\u2028' ps=$'\u2029'
	# the source: lines as eventfold-es (serde_json) writes them, with the
	# two separators raw in type, id and actor, and other escapes
	mkdir -p "$ROOT/streams/counter/a"
	{
		printf '{"type":"Incre%smented","data":{"note":"x%sy\\n\\u0001"},"ts":1764446400,"id":"id%s1","actor":"al%sice"}\n' "$ls" "$ps" "$ls" "$ps"
		printf '{"type":"Incremented","data":null,"ts":1764446401,"id":"id-2","actor":"bob","meta":{"correlation_id":"c%s"}}\n' "$ls"
	} >"$ROOT/streams/counter/a/app.jsonl"
	fold-watch >records.jsonl
	run --separate-stderr fold-exec --inject --root other <records.jsonl
	assert_success
	cmp "$ROOT/streams/counter/a/app.jsonl" other/streams/counter/a/app.jsonl
	# so the relayed records carry the source's hashes and offsets
	run diff <(jq -c '[.offset, .hash]' records.jsonl) <(jq -c '[.offset, .hash]' <<<"$output")
	assert_success
	# a second relay finds the ids there and appends nothing
	run --separate-stderr fold-exec --inject --root other <records.jsonl
	assert_success
	cmp "$ROOT/streams/counter/a/app.jsonl" other/streams/counter/a/app.jsonl
}

@test "events fold writes keep U+2028 and U+2029 raw, as eventfold-es does" {
	local ls=$'\u2028'
	envelope a Increment "\"context\":{\"actor\":\"al${ls}ice\",\"correlation_id\":\"c${ls}\"}" | exec_counter >/dev/null
	run grep -c "al${ls}ice\".*c${ls}\"" "$(log_file counter a)"
	assert_output 1
	refute grep -q 'u2028' "$(log_file counter a)"
}

# --- negative durations ---------------------------------------------------------------

@test "a negative duration is a usage error naming the flag and value, in every program" {
	local h="jq --unbuffered -c -f $(sq "$REPO/examples/counter/counter.jq")"
	local -a runs=(
		"fold-exec --handler counter=cat --lock-timeout -5s"
		"fold-exec --handler counter=cat --handler-timeout -1ms"
		"fold-exec --handler counter=cat --idle-timeout -2m0s"
		"fold-exec state --handler counter=cat --handler-timeout -1s counter a"
		"fold-exec --handler-timeout -1s state --handler counter=cat counter a"
		"fold-watch --follow --poll -1s"
		"fold-watch --checkpoint c --lock-timeout -5s"
		"fold-project --name p --handler cat --follow --poll -1s"
		"fold-project --name p --handler cat --lock-timeout -3s"
		"fold-project --name p --handler cat --handler-timeout -3s"
		"fold-pm --name p --handler cat --follow --poll -1s"
		"fold-pm --name p --handler cat --lock-timeout -5s"
		"fold-pm --name p --handler cat --dispatch --handler counter=cat --idle-timeout -1s"
		"fold-pm retry --name p --handler counter=cat --lock-timeout -5s"
	)
	local r flag value
	for r in "${runs[@]}"; do
		run --separate-stderr $r </dev/null
		[[ $status -eq 2 ]] || fail "$r: exit $status, want 2 ($stderr)"
		# the flag and value named are the last negative ones on the line
		flag=$(grep -oE -- '--[a-z-]+ -[0-9][0-9a-z]*' <<<"$r" | tail -1)
		value=${flag#* }
		assert_stderr_line -n 0 "${r%% *}: error: ${flag% *} $value is negative"
		assert_stderr_line -n 1 -p "hint: give a length of time"
	done
	[[ ! -e $ROOT ]]
}

# --- the maximum event size --------------------------------------------------------------

# BIG_JQ: a handler whose Big command makes one event with n bytes of data.
big_handler() {
	cat >big.jq <<-'JQ'
		if .op == "handle" then {events: [{type: "Big", data: ("x" * .command.n)}], state: null}
		else {state: null} end
	JQ
	BIG_JQ="jq --unbuffered -c -f big.jq"
}

big() { printf '{"aggregate_type":"big","instance_id":"%s","command":{"type":"Big","n":%d}}\n' "$1" "$2"; }

@test "max event size: a handler's event over the limit is handler_failed, naming its size and the limit" {
	big_handler
	{
		big a 100
		big a 2000000
		big a 10
	} >in.jsonl
	run --separate-stderr fold-exec --handler big="$BIG_JQ" --errors json <in.jsonl
	assert_failure 1
	run jq -c '[.instance_id, .version]' <<<"$output"
	assert_output $'["a",1]\n["a",2]'
	run jq -r '"\(.line) \(.kind) \(.message)"' <<<"$stderr"
	assert_output '2 handler_failed handle on big/a: event 1 of 1 ("Big") is 2000084 bytes, over the 1048576-byte limit (--max-event-size 1MiB)'
	[[ $(log_lines big a) -eq 2 ]]
	# raised, it is appended
	run --separate-stderr fold-exec --handler big="$BIG_JQ" --max-event-size 2MiB < <(big a 2000000)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 3 ]]
}

@test "max event size: --inject refuses an event over it (invalid_input), and a line over the input limit is one failed line" {
	{
		jq -nc '{aggregate_type: "t", instance_id: "i", event: {type: "X", data: "small", ts: 1}}'
		jq -nc '{aggregate_type: "t", instance_id: "i", event: {type: "X", data: ("y" * 1048600), ts: 1}}'
		jq -nc '{aggregate_type: "t", instance_id: "i", event: {type: "X", data: ("y" * 3000000), ts: 1}}'
		jq -nc '{aggregate_type: "t", instance_id: "i", event: {type: "X", data: "after", ts: 2}}'
	} >in.jsonl
	run --separate-stderr fold-exec --inject --errors json <in.jsonl
	assert_failure 1
	run jq -r '.event.data' <<<"$output"
	assert_output $'small\nafter'
	run jq -r '"\(.line) \(.kind) \(.message)"' <<<"$stderr"
	assert_line -n 0 '2 invalid_input event is 1048629 bytes, over the 1048576-byte limit (--max-event-size 1MiB)'
	assert_line -n 1 '3 invalid_input line is 3000078 bytes, over the 1052672-byte limit (--max-event-size 1MiB + 4KiB for a record around it)'
	# the failed line's input is its start, not 3 MB
	[[ $(jq -r 'select(.line == 3) | .input | length' <<<"$stderr") -eq 64 ]]
}

@test "max event size: a command line over the input limit fails alone; the run goes on (exit 1, not 3)" {
	{
		envelope a Increment
		jq -nc '{aggregate_type: "counter", instance_id: "a", command: {type: "Increment", pad: ("p" * 2000000)}}'
		envelope a Increment
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	run jq -c .version <<<"$output"
	assert_output $'1\n2'
	assert_stderr 'fold-exec: error: line 2: line is 2000086 bytes, over the 1052672-byte limit (--max-event-size 1MiB + 4KiB for a record around it)'
}

@test "max event size: fold-watch | fold-project --stdin and fold-pm --stdin read what fold-exec writes, raised alike on both ends" {
	big_handler
	{
		big a 10
		big a 1048000
		big a 2000000
		big a 20
	} | fold-exec --handler big="$BIG_JQ" --max-event-size 2MiB >/dev/null
	local count='jq --unbuffered -c "{state: ((.state // 0) + (.records | length))}"'
	# the largest event the default allows comes through a pipe whole
	fold-watch >records.jsonl
	[[ $(sed -n 2p records.jsonl | wc -c) -gt 1048000 ]]
	# with the default limit the 2 MB one is one failed line, named
	run --separate-stderr fold-project --stdin --name p --handler "$count" <records.jsonl
	assert_failure 1
	assert_output 3
	assert_stderr -p 'fold-project: error: line 3: line is 2000'
	assert_stderr -p 'bytes, over the 1052672-byte limit (--max-event-size 1MiB + 4KiB'
	run --separate-stderr fold-pm --stdin --name m --subscribe big --handler 'jq --unbuffered -c "{state: null, commands: []}"' <records.jsonl
	assert_failure 1
	assert_stderr -p 'fold-pm: error: line 3: line is 2000'
	# raised as on the writing end, all four are read
	run --separate-stderr fold-project --stdin --name q --max-event-size 2MiB --handler "$count" <records.jsonl
	assert_success
	assert_output 4
	run --separate-stderr fold-pm --stdin --name n --subscribe big --max-event-size 2MiB --handler 'jq --unbuffered -c "{state: null, commands: []}"' <records.jsonl
	assert_success
}

@test "max event size: out of range or not a size is a usage error" {
	local p
	for p in "fold-exec --handler counter=cat" "fold-project --name p --handler cat" "fold-pm --name p --subscribe t --handler cat"; do
		run --separate-stderr $p --max-event-size 64MiB </dev/null
		assert_failure 2
		assert_stderr_line -n 0 "${p%% *}: error: --max-event-size \"64MiB\" is not between 1KiB and 16MiB"
		run --separate-stderr $p --max-event-size lots </dev/null
		assert_failure 2
		assert_stderr_line -n 0 -p '--max-event-size: "lots" is not a size'
	done
}

# --- --sync each: prompt records, fair turns ------------------------------------------

@test "--sync each: a command's record goes out once its own sync is done, not after its batch" {
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
	# A handler whose WaitFor command waits until a file exists; the
	# reader of fold-exec's output makes the file when it sees the record
	# of the command before: both are in one batch, so only a writer that
	# prints each record as soon as it is durable gets there.
	cat >wait.sh <<-'SH'
		while IFS= read -r req; do
			f=$(printf '%s\n' "$req" | jq -r 'if .op == "handle" and .command.type == "WaitFor" then .command.file else "" end')
			if [ -n "$f" ]; then while [ ! -e "$f" ]; do sleep 0.01; done; fi
			printf '%s\n' "$req" | jq -c 'if .op == "handle" then {events: [{type: "Done"}], state: null} else {state: null} end'
		done
	SH
	# (the stream exists first: a new stream's first batch is decided
	# whole before its log is created)
	envelope w Go | fold-exec --handler counter="sh wait.sh" >/dev/null
	{
		for n in 2 3 4 5 6; do envelope w Go; done
		envelope w WaitFor | jq -c --arg f "$PWD/go" '.command.file = $f'
	} >in.jsonl
	run --separate-stderr bash -c 'set -o pipefail
		fold-exec --handler counter="sh wait.sh" --sync each --handler-timeout 10s <in.jsonl |
			while IFS= read -r rec; do
				printf "%s\n" "$rec" >>seen.jsonl
				if [ "$(printf "%s\n" "$rec" | jq .version)" = 6 ]; then touch go; fi
			done'
	assert_success
	refute_stderr
	[[ -e go ]]
	run jq -c '[.version, .event.type]' seen.jsonl
	assert_output - <<-'EOF'
		[2,"Done"]
		[3,"Done"]
		[4,"Done"]
		[5,"Done"]
		[6,"Done"]
		[7,"Done"]
	EOF
}

@test "--sync each: 8 writers of one instance take turns: no lock_timeout under the default --lock-timeout" {
	skip_on_nats "reads or writes the files under $ROOT/streams, or tests --sync on files"
	# Each command takes its handler 10 ms, so each writer's queue is
	# 1.5 s of work and the eight queues together more than the 10 s a
	# writer waits for the lock: a writer that kept the lock for its
	# whole queue would make the last ones time out.
	cat >slow.sh <<-'SH'
		while IFS= read -r req; do
			case $req in
			*'"op":"handle"'*) sleep 0.01; echo '{"events":[{"type":"Incremented"}],"state":null}' ;;
			*) echo '{"state":null}' ;;
			esac
		done
	SH
	envelopes x Increment 150 >in.jsonl
	local k
	for k in 1 2 3 4 5 6 7 8; do
		fold-exec --handler counter="sh slow.sh" --sync each --errors json <in.jsonl >"out$k" 2>"err$k" 3>&- &
		track $!
	done
	local failed=0
	for k in "${TRACKED[@]}"; do wait "$k" || failed=$?; done
	cat err* >errs
	run jq -r .kind errs
	refute_output -p lock_timeout
	[[ $failed -eq 0 ]] || fail "a writer exited $failed: $(head -3 errs)"
	[[ $(cat out* | wc -l) -eq 1200 ]]
	[[ $(check_log counter x) -eq 1200 ]]
	cat out* | check_records
}
