#!/usr/bin/env bats
# fold-exec under stress: concurrent writers, kill -9, torn tails, corrupt
# snapshots and lines, closed pipes, signals, sync modes, actor eviction.
# The Go handler is used where speed matters.

load helpers

setup() {
	fold_setup
	COUNTER=$COUNTER_GO
}

# trickle FILE: FILE's lines in bursts of 25 with short pauses, so that two
# writers fed this way take turns on the lock.
trickle() {
	awk '{ print } NR % 25 == 0 { fflush(); system("sleep 0.01") }' "$1"
}

# feed_slowly N ID CMD: N envelopes CMD for ID, trickled. The file is
# written once and then only read: two writers fed at once must not see it
# truncated by each other (that raced, and fed one of them fewer lines).
feed_slowly() {
	local f="burst.$2.$3.$1"
	[[ -s $f ]] || { envelopes "$2" "$3" "$1" >"$f.tmp.$BASHPID" && mv "$f.tmp.$BASHPID" "$f"; }
	trickle "$f"
}

# versions_are FILE FROM TO: the records' versions sorted are FROM..TO, each
# exactly once.
versions_are() {
	diff <(jq -r .version "$1" | sort -n) <(seq "$2" "$3") >/dev/null ||
		fail "versions in $1 are not $2..$3 exactly once"
}

@test "two processes on one instance: 2 x 1,000 increments, versions 1..2000" {
	feed_slowly 1000 c Increment 3>&- | fold-exec --handler counter="$COUNTER" >out1.jsonl 2>err1 3>&- &
	local p1=$!
	track $p1
	feed_slowly 1000 c Increment 3>&- | fold-exec --handler counter="$COUNTER" >out2.jsonl 2>err2 3>&- &
	local p2=$!
	track $p2
	wait "$p1" || fail "first fold-exec failed: $(cat err1)"
	wait "$p2" || fail "second fold-exec failed: $(cat err2)"
	[[ ! -s err1 && ! -s err2 ]] || fail "stderr: $(cat err1 err2)"
	[[ $(wc -l <out1.jsonl) -eq 1000 && $(wc -l <out2.jsonl) -eq 1000 ]]
	cat out1.jsonl out2.jsonl >all.jsonl
	versions_are all.jsonl 1 2000
	check_records all.jsonl
	[[ $(check_log counter c) -eq 2000 ]] # no duplicate ids
	[[ $(jq -r .event.id all.jsonl | sort -u | wc -l) -eq 2000 ]]
	# each process saw its own versions rise
	jq -r .version out1.jsonl | sort -nc
	jq -r .version out2.jsonl | sort -nc
	run value_of c
	assert_output 2000
}

@test "two processes never decide on stale state: 2 x 400 Decrements of 500" {
	inc c 500
	feed_slowly 400 c Decrement 3>&- | fold-exec --handler counter="$COUNTER" --errors json >out1.jsonl 2>err1 3>&- &
	local p1=$!
	track $p1
	feed_slowly 400 c Decrement 3>&- | fold-exec --handler counter="$COUNTER" --errors json >out2.jsonl 2>err2 3>&- &
	local p2=$!
	track $p2
	local s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[[ $s1 -le 1 && $s2 -le 1 ]] || fail "exit statuses $s1 $s2"
	cat out1.jsonl out2.jsonl >all.jsonl
	[[ $(wc -l <all.jsonl) -eq 500 ]] ||
		fail "$(wc -l <all.jsonl) decrements succeeded, want 500; failures: $(cat err1 err2 | jq -r .kind | sort | uniq -c | tr '\n' ' ')"
	[[ $(cat err1 err2 | jq -r .kind | sort | uniq -c | tr -s ' ') == " 300 rejected" ]]
	versions_are all.jsonl 501 1000
	check_records all.jsonl
	# the running value never went below zero
	run jq -n '[inputs | if .type == "Incremented" then 1 else -1 end] |
		reduce .[] as $d ({v: 0, min: 0}; .v += $d | .min = ([.min, .v] | min)) | [.v, .min]' \
		"$(log_file counter c)"
	assert_output - <<-'EOF'
		[
		  0,
		  0
		]
	EOF
	run value_of c
	assert_output 0
}

@test "two processes sending the same command_ids: each appended once" {
	awk 'BEGIN { for (i = 1; i <= 300; i++)
		printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"d\",\"command\":{\"type\":\"Increment\"},\"command_id\":\"c%d\"}\n", i }' >in.jsonl
	trickle in.jsonl 3>&- | fold-exec --handler counter="$COUNTER" --errors json >out1.jsonl 2>err1 3>&- &
	local p1=$!
	track $p1
	trickle in.jsonl 3>&- | fold-exec --handler counter="$COUNTER" --errors json >out2.jsonl 2>err2 3>&- &
	local p2=$!
	track $p2
	wait "$p1" || fail "first fold-exec: exit $? $(cat err1)"
	wait "$p2" || fail "second fold-exec: exit $? $(cat err2)"
	cat out1.jsonl out2.jsonl >all.jsonl
	versions_are all.jsonl 1 300
	check_records all.jsonl
	[[ $(jq -r .event.meta.command_id all.jsonl | sort -u | wc -l) -eq 300 ]]
	# what one appended the other reported as a duplicate
	[[ $(cat err1 err2 | jq -r .kind | sort | uniq -c | tr -s ' ') == " 300 duplicate" ]]
	[[ $(check_log counter d) -eq 300 ]]
}

@test "two processes injecting the same events: each id appended once" {
	awk 'BEGIN { for (i = 1; i <= 300; i++)
		printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"r\",\"event\":{\"type\":\"Incremented\",\"data\":null,\"ts\":1700000000,\"id\":\"e%d\"}}\n", i }' >in.jsonl
	trickle in.jsonl 3>&- | fold-exec --inject >out1.jsonl 2>err1 3>&- &
	local p1=$!
	track $p1
	trickle in.jsonl 3>&- | fold-exec --inject >out2.jsonl 2>err2 3>&- &
	local p2=$!
	track $p2
	wait "$p1" || fail "first fold-exec: exit $? $(cat err1)"
	wait "$p2" || fail "second fold-exec: exit $? $(cat err2)"
	cat out1.jsonl out2.jsonl >all.jsonl
	versions_are all.jsonl 1 300
	check_records all.jsonl
	[[ $(check_log counter r) -eq 300 ]] # ids unique
}

# kill9_story SYNC STOP_AT: kill -9 a long run once STOP_AT records were
# printed, then check that nothing acknowledged was lost and all reads.
kill9_story() {
	local sync=$1 stop_at=$2 k
	round_robin 20000 10 >big.jsonl
	spawn fold-exec --handler counter="$COUNTER" --sync "$sync" --snapshot-every 50 <big.jsonl >out.jsonl 2>err
	local pid=$SPAWNED
	wait_until 20 file_has_lines out.jsonl "$stop_at"
	kill -9 "$pid" || fail "the run ended before it could be killed"
	wait "$pid" || true
	[[ ! -s err ]] || fail "stderr before the kill: $(cat err)"

	# every record printed (whole lines) is on disk, byte for byte
	complete_lines out.jsonl >printed.jsonl
	[[ $(wc -l <printed.jsonl) -ge $stop_at && $(wc -l <printed.jsonl) -lt 20000 ]]
	check_records printed.jsonl

	# every stream and snapshot still reads
	local -A before
	for k in 0 1 2 3 4 5 6 7 8 9; do
		before[$k]=$(log_lines counter "k$k")
		run --separate-stderr state_of "k$k"
		assert_success
		assert_output "{\"aggregate_type\":\"counter\",\"instance_id\":\"k$k\",\"version\":${before[$k]},\"state\":{\"value\":${before[$k]}}}"
		[[ ! -e $(snapshot_file counter "k$k") ]] || jq -e .offset "$(snapshot_file counter "k$k")" >/dev/null
	done

	# the next run continues each stream where its acknowledged events end
	round_robin 100 10 >more.jsonl
	run --separate-stderr exec_counter --sync "$sync" <more.jsonl
	assert_success
	echo "$output" >next.jsonl
	check_records next.jsonl
	for k in 0 1 2 3 4 5 6 7 8 9; do
		jq -c "select(.instance_id == \"k$k\")" next.jsonl >"next-k$k.jsonl"
		versions_are "next-k$k.jsonl" $((before[$k] + 1)) $((before[$k] + 10))
		[[ $(check_log counter "k$k") -eq $((before[$k] + 10)) ]]
	done
}

@test "kill -9 during a long run with --sync each loses nothing printed" {
	kill9_story each 2000
}

@test "kill -9 during a long run with --sync batch loses nothing printed" {
	kill9_story batch 1000
}

@test "a torn last line is cut by the next writer, with a warning; state skips it" {
	skip_on_nats "writes a stream's files"
	inc t 2
	local log
	log=$(log_file counter t)
	local good
	good=$(wc -c <"$log")
	printf '{"type":"Incremented","da' >>"$log"
	run --separate-stderr state_of t
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"t","version":2,"state":{"value":2}}'

	run --separate-stderr exec_counter < <(envelope t Increment)
	assert_success
	assert_stderr -e '[Tt]orn'
	[[ $(jq -r .version <<<"$output") -eq 3 ]]
	[[ $(jq -r .offset <<<"$output") -eq $((good + $(tail -n 1 "$log" | wc -c))) ]]
	check_records <<<"$output"
	[[ $(check_log counter t) -eq 3 ]] # no torn bytes left
	run value_of t
	assert_output 3
}

@test "a last line of valid JSON without its newline is torn too" {
	skip_on_nats "writes a stream's files"
	inc t 2
	local log
	log=$(log_file counter t)
	printf '%s' '{"type":"Incremented","data":null,"ts":1700000000,"id":"never-acked"}' >>"$log"
	run --separate-stderr state_of t
	assert_success
	assert_output '{"aggregate_type":"counter","instance_id":"t","version":2,"state":{"value":2}}'
	run --separate-stderr exec_counter < <(envelope t Increment)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 3 ]]
	check_records <<<"$output"
	[[ $(check_log counter t) -eq 3 ]]
	refute grep -q never-acked "$log"
}

@test "a corrupt snapshot is ignored and rebuilt" {
	skip_on_nats "writes a stream's files"
	inc s 3
	local snap log
	snap=$(snapshot_file counter s)
	log=$(log_file counter s)
	local size hash
	size=$(wc -c <"$log")
	hash=$(tail -n 1 "$log" | xxh64)
	[[ -f $snap ]]
	local -a bad=(
		'garbage{'
		''
		"{\"state\":{\"value\":42},\"offset\":$size,\"hash\":\"0000000000000000\",\"version\":3}"
		"{\"state\":{\"value\":42},\"offset\":$((size - 1)),\"hash\":\"$hash\",\"version\":3}"
		"{\"state\":{\"value\":42},\"offset\":$((size + 95)),\"hash\":\"$hash\",\"version\":4}"
		"{\"state\":{\"value\":42},\"offset\":95,\"hash\":\"$hash\",\"version\":1}"
	)
	local s
	for s in "${bad[@]}"; do
		printf '%s' "$s" >"$snap"
		run --separate-stderr state_of s
		assert_success
		assert_output '{"aggregate_type":"counter","instance_id":"s","version":3,"state":{"value":3}}'
	done
	# a writer rebuilds it, and carries on from the right state
	printf '%s' "${bad[2]}" >"$snap"
	run --separate-stderr exec_counter < <(envelope s Reset)
	assert_success
	run jq -c '.event.data' <<<"$output"
	assert_output '{"previous":3}'
	run jq -c '[.state, .offset, .hash]' "$snap"
	assert_output "[{\"value\":0},$(wc -c <"$log"),\"$(tail -n 1 "$log" | xxh64)\"]"
	# a snapshot that is a directory does not stop anything either
	rm -f "$snap"
	mkdir "$snap"
	run --separate-stderr exec_counter < <(envelope s Increment)
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 5 ]]
	rmdir "$snap"
	run value_of s
	assert_output 1
}

@test "a corrupt line in the middle: corrupt_stream with path and offset, nothing appended" {
	skip_on_nats "writes a stream's files"
	inc m 3
	inc o 3
	local log
	log=$(log_file counter m)
	{
		sed -n 1p "$log"
		echo '{"type":"Incremented","data":nul!}'
		sed -n 3p "$log"
	} >fixed && cat fixed >"$log"
	rm -f "$(snapshot_file counter m)"
	cp "$log" before.jsonl
	{
		envelope m Increment
		envelope o Increment
		envelope m Increment
	} >in.jsonl
	run --separate-stderr exec_counter --errors json <in.jsonl
	assert_failure 1
	# the other stream is unaffected
	run jq -c '[.instance_id, .version]' <<<"$output"
	assert_output '["o",4]'
	local errs=$stderr
	run jq -c '[.line, .kind]' <<<"$errs"
	assert_output - <<-'EOF'
		[1,"corrupt_stream"]
		[3,"corrupt_stream"]
	EOF
	run jq -r 'select(.line == 1) | .message' <<<"$errs"
	assert_output --partial "$log"
	assert_output -e '\b95\b' # the bad line starts at byte 95
	cmp before.jsonl "$log"

	# a reader names it the same way
	run --separate-stderr state_of m
	assert_stderr --partial "$log"
	assert_stderr -e '\b95\b'
	run value_of o
	assert_output 4
}

@test "| head -1: fold-exec ends quietly on a closed pipe" {
	envelopes p Increment 20000 >big.jsonl
	run bash -c 'exec_counter() { fold-exec --handler counter="$1"; }
		exec_counter "$1" <big.jsonl 2>err | head -n 1; echo "status ${PIPESTATUS[0]}"' - "$COUNTER"
	assert_success
	assert_line -n 0 -e '^\{"aggregate_type":"counter","instance_id":"p","version":1,'
	assert_line -n 1 -e '^status (0|141)$'
	[[ ! -s err ]] || fail "stderr: $(cat err)"
	# what it wrote is whole
	check_log counter p >/dev/null
}

# signal_story SIG: a run fed slowly gets SIG after some records; it stops
# cleanly and everything it printed is on disk.
signal_story() {
	mkfifo in.fifo
	exec 7<>in.fifo # read-write: opening it never blocks
	spawn fold-exec --handler counter="$COUNTER" --sync batch <in.fifo >out.jsonl 2>err 7>&-
	local pid=$SPAWNED
	local k
	for ((k = 0; k < 50; k++)); do envelope "s$((k % 3))" Increment >&7; done
	wait_until 10 file_has_lines out.jsonl 50
	kill "-$1" "$pid"
	wait_until 10 gone "$pid"
	# it must not be waiting for more input
	exec 7>&-
	local status=0
	wait "$pid" || status=$?
	[[ $status -eq 0 ]] || fail "exit status $status after SIG$1 (stderr: $(cat err))"
	[[ ! -s err ]] || fail "stderr: $(cat err)"
	[[ $(wc -l <out.jsonl) -eq 50 ]]
	check_records out.jsonl
	for k in 0 1 2; do check_log counter "s$k" >/dev/null; done
}

@test "SIGTERM between commands: a clean stop, every record durable" {
	signal_story TERM
}

@test "SIGINT between commands: a clean stop, every record durable" {
	signal_story INT
}

@test "SIGTERM stops a run whose input keeps coming, finishing the lines in hand" {
	yes "$(envelope y Increment)" 3>&- | fold-exec --handler counter="$COUNTER" --sync batch >out.jsonl 2>err 3>&- &
	local pid=$!
	track $pid
	wait_until 20 file_has_lines out.jsonl 1000
	kill -TERM "$pid"
	local k
	for ((k = 0; k < 250; k++)); do
		gone "$pid" && break
		sleep 0.02
	done
	if ! gone "$pid"; then
		kill -9 "$pid"
		wait "$pid" || true
		fail "fold-exec still running 5s after SIGTERM (input never ends): the stop signal is ignored while input is waiting"
	fi
	local status=0
	wait "$pid" || status=$?
	[[ $status -eq 0 ]] || fail "exit status $status after SIGTERM (stderr: $(cat err))"
	[[ ! -s err ]] || fail "stderr: $(cat err)"
	check_records out.jsonl
	[[ $(wc -l <out.jsonl) -eq $(log_lines counter y) ]]
}

@test "--sync each, batch and none write the same logs" {
	skip_on_nats "compares roots written with --root"
	local i
	{
		for ((i = 0; i < 30; i++)); do
			envelope "a$((i % 3))" Increment
			((i % 4)) || envelope "a$((i % 3))" Decrement
			((i % 7)) || envelope "a$((i % 3))" Reset
			((i % 11)) || envelope "fresh$i" Reset
		done
	} >in.jsonl
	local mode
	for mode in each batch none; do
		run --separate-stderr exec_counter --root "$BATS_TEST_TMPDIR/$mode" --sync "$mode" <in.jsonl
		echo "$status" >"$mode.status"
		jq -c 'del(.hash, .event.id, .event.ts)' <<<"$output" >"$mode.records"
		ROOT=$BATS_TEST_TMPDIR/$mode check_records <<<"$output"
		echo "$stderr" >"$mode.stderr"
		for i in 0 1 2; do
			jq -c 'del(.id, .ts)' "$mode/streams/counter/a$i/app.jsonl" >"$mode.a$i"
		done
	done
	for mode in batch none; do
		diff each.status "$mode.status"
		diff each.records "$mode.records"
		diff each.stderr "$mode.stderr"
		for i in 0 1 2; do diff each.a$i "$mode.a$i"; done
	done
	[[ $(cat each.status) -eq 1 ]]
	[[ $(wc -l <each.records) -gt 30 ]]
}

@test "--max-actors 2 with 50 instances: every state right" {
	COUNTER=$COUNTER_JQ
	# rounds over m1..m50: Increment, Increment, then Decrement for even
	# ones, then Reset for multiples of 3 (each from a fresh actor)
	awk 'BEGIN { for (r = 1; r <= 4; r++) for (i = 1; i <= 50; i++) {
		c = "Increment"
		if (r == 3 && i % 2 == 0) c = "Decrement"
		if (r == 4 && i % 3 == 0) c = "Reset"
		printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"m%d\",\"command\":{\"type\":\"%s\"}}\n", i, c
	} }' >in.jsonl
	run --separate-stderr exec_counter --max-actors 2 --snapshot-every 1 <in.jsonl
	assert_success
	refute_stderr
	echo "$output" >out.jsonl
	[[ $(wc -l <out.jsonl) -eq 200 ]]
	check_records out.jsonl
	# versions 1..4 per instance, round by round; each Reset saw the state
	# its instance had (1 for even ones, 3 for odd ones)
	run jq -c 'select(.version != ((input_line_number - 1) / 50 | floor) + 1)' out.jsonl
	assert_output ''
	run jq -c 'select(.event.type == "WasReset") | [.instance_id, .event.data.previous]' out.jsonl
	[[ ${#lines[@]} -eq 16 ]]
	run jq -r 'select(.event.type == "WasReset") |
		(.instance_id[1:] | tonumber) as $i |
		select(.event.data.previous != (if $i % 2 == 0 then 1 else 3 end)) | .instance_id' out.jsonl
	assert_output ''
	COUNTER=$COUNTER_GO
	run state_of m6
	assert_output '{"aggregate_type":"counter","instance_id":"m6","version":4,"state":{"value":0}}'
	run state_of m10
	assert_output '{"aggregate_type":"counter","instance_id":"m10","version":4,"state":{"value":2}}'
	run state_of m49
	assert_output '{"aggregate_type":"counter","instance_id":"m49","version":4,"state":{"value":4}}'
}

@test "--idle-timeout 100ms: an idle actor exits (saving its snapshot) and comes back" {
	skip_on_nats "waits for snapshot files"
	mkfifo in.fifo
	exec 7<>in.fifo # read-write: opening it never blocks
	spawn fold-exec --handler counter="$COUNTER" --idle-timeout 100ms --snapshot-every 1000 \
		<in.fifo >out.jsonl 2>err 7>&-
	local pid=$SPAWNED
	{
		envelopes a Increment 3
		envelopes b Increment 2
	} >&7
	wait_until 10 file_has_lines out.jsonl 5
	# the idle actors exit, and save their state on the way out
	wait_until 10 test -s "$(snapshot_file counter a)"
	wait_until 10 test -s "$(snapshot_file counter b)"
	{
		envelopes a Increment 2
		envelope b Decrement
	} >&7
	exec 7>&-
	wait "$pid" || fail "exit status $? (stderr: $(cat err))"
	[[ ! -s err ]] || fail "stderr: $(cat err)"
	run jq -c '[.instance_id, .version]' out.jsonl
	assert_output - <<-'EOF'
		["a",1]
		["a",2]
		["a",3]
		["b",1]
		["b",2]
		["a",4]
		["a",5]
		["b",3]
	EOF
	check_records out.jsonl
	run value_of a
	assert_output 5
	run value_of b
	assert_output 1
}

@test "--log-format json and --log-level: the torn-tail warning as JSON, or silenced" {
	skip_on_nats "writes a stream's files"
	inc t 1
	printf '{"ty' >>"$(log_file counter t)"
	run --separate-stderr exec_counter --log-format json < <(envelope t Increment)
	assert_success
	[[ ${#stderr_lines[@]} -eq 1 ]] || fail "stderr: $stderr"
	run jq -r '[.level, .msg] | join(" ")' <<<"$stderr"
	assert_success
	assert_output -e '^WARN .*torn'
	printf '{"ty' >>"$(log_file counter t)"
	run --separate-stderr exec_counter --log-level error < <(envelope t Increment)
	assert_success
	refute_stderr
	[[ $(check_log counter t) -eq 3 ]]
}
