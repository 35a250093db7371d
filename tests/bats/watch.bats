#!/usr/bin/env bats
# fold-watch end to end: catch-up against the files on disk, filters,
# --follow (notifications and polling), durable consumers, clean stops.

load helpers

# bg OUT CMD...: run CMD in the background with stdout to OUT and stderr to
# OUT.err; its pid is in $BG_PID and is killed at teardown.
bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# inc_other ID: one Increment on other/ID, a second aggregate type.
inc_other() { TYPE=other envelope "$1" Increment | fold-exec --handler other="$COUNTER" >/dev/null; }

# teardown stops what a test left running (SIGTERM: fold programs stop
# cleanly on it) and waits for it.
teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# stop PID: SIGTERM, then wait for it; the exit status is in $STOP_STATUS.
stop() {
	kill -TERM "$1"
	STOP_STATUS=0
	wait "$1" || STOP_STATUS=$?
}

@test "catch-up prints every record, in registry order, matching the files" {
	inc beta 2
	inc alpha 3
	inc_other x
	run --separate-stderr fold-watch
	assert_success
	refute_stderr
	check_records <<<"$output"
	run jq -c '[.aggregate_type, .instance_id, .version]' <<<"$output"
	assert_output - <<-'EOF'
		["counter","beta",1]
		["counter","beta",2]
		["counter","alpha",1]
		["counter","alpha",2]
		["counter","alpha",3]
		["other","x",1]
	EOF
}

@test "catch-up of the eventfold-es root ends at its checkpoint's cursors" {
	skip_on_nats "reads the eventfold-es root's files"
	copy_eventfold_root root
	run --separate-stderr fold-watch
	assert_success
	check_records <<<"$output"
	run jq -c -s 'group_by(.instance_id) | map({key: "counter/\(.[-1].instance_id)", value: {offset: .[-1].offset, hash: .[-1].hash}}) | from_entries' <<<"$output"
	assert_json_eq "$output" "$(jq -c .cursors "$ROOT/projections/total-counter/checkpoint.json")"
}

@test "--type and --stream select streams; a missing --stream is an error" {
	inc a 2
	inc b 1
	inc_other x
	run --separate-stderr fold-watch --type other
	assert_success
	[[ $(jq -r .instance_id <<<"$output") == x ]]
	run --separate-stderr fold-watch --stream counter/b --stream other/x
	assert_success
	run jq -r '"\(.aggregate_type)/\(.instance_id)"' <<<"$output"
	assert_output $'counter/b\nother/x'
	run --separate-stderr fold-watch --stream counter/nope
	assert_failure 1
	assert_stderr_line -n 0 'fold-watch: error: no such stream "counter/nope"'
	run --separate-stderr fold-watch --stream ../x
	assert_failure 2
	run --separate-stderr fold-watch --type a/b
	assert_failure 2
}

@test "a root that does not exist prints nothing and is not created" {
	run --separate-stderr fold-watch
	assert_success
	assert_output ''
	[[ ! -e $ROOT ]]
}

@test "--list prints what fold-exec streams prints" {
	inc b
	inc a
	run fold-watch --list
	assert_success
	assert_output "$(fold-exec streams)"
	local a
	for a in --follow "--poll 1s" "--stream counter/a" "--checkpoint c"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr fold-watch --list $a
		assert_failure 2
		assert_equal "$stderr" 'fold-watch: error: --list takes only --type'
	done
}

@test "a torn tail is not printed; a corrupt line is reported and skipped" {
	skip_on_nats "writes a stream's files"
	inc a 2
	printf '{"type":"Incremented","da' >>"$(log_file counter a)"
	run --separate-stderr fold-watch
	assert_success
	[[ ${#lines[@]} -eq 2 ]]
	refute_stderr
	printf 'ta":null,"ts":1}\nnot json\n' >>"$(log_file counter a)"
	inc b
	run --separate-stderr fold-watch
	assert_failure 1
	run jq -r '"\(.instance_id) \(.version)"' <<<"$output"
	assert_output $'a 1\na 2\na 3\nb 1'
	assert_stderr -e "^fold-watch: error: .*/streams/counter/a/app.jsonl: bad line at byte [0-9]+: not valid JSON: \"not json\""
}

follow_picks_up() {
	inc a 1
	bg out fold-watch --follow "$@"
	wait_until 5 file_has_lines out 1
	inc a 1                                      # an append
	wait_until 5 file_has_lines out 2
	inc b 1                                      # a new instance
	inc_other x                                  # a new type
	wait_until 5 file_has_lines out 4
	stop "$BG_PID"
	[[ $STOP_STATUS -eq 0 ]] || fail "fold-watch exited $STOP_STATUS: $(cat out.err)"
	check_records out
	run jq -r '"\(.aggregate_type)/\(.instance_id) \(.version)"' out
	assert_output $'counter/a 1\ncounter/a 2\ncounter/b 1\nother/x 1'
	[[ ! -s out.err ]] || fail "stderr: $(cat out.err)"
}

@test "--follow prints appends and brand-new streams, stops cleanly on SIGTERM" {
	follow_picks_up
}

@test "--follow --poll does the same by polling" {
	follow_picks_up --poll 50ms
}

@test "--follow past its watch budget sees every new record: the journal, new directories, the scan" {
	skip_on_nats "follows a root's files"
	round_robin 30 30 | exec_counter >/dev/null
	# 8 watches: the root's directories and a few streams, not 30.
	bg out env FOLD_WATCH_BUDGET=8 fold-watch --follow --type counter
	wait_until 5 file_has_lines out 30
	inc k3 2 # fold-exec: its change journal says which stream grew
	inc new 1
	wait_until 5 file_has_lines out 33
	# Another program: an append (found by the scan of the logs' sizes)
	# and a copied stream (its directory appears).
	jq -c '.event' <(tail -n 1 out) >>"$(log_file counter k5)"
	cp -R "$(stream_dir counter k7)" "$(stream_dir counter copied)"
	wait_until 10 file_has_lines out 35
	stop "$BG_PID"
	[[ $STOP_STATUS -eq 0 ]] || fail "fold-watch exited $STOP_STATUS: $(cat out.err)"
	[[ ! -s out.err ]] || fail "stderr: $(cat out.err)"
	check_records out
	run jq -r '"\(.instance_id) \(.version)"' <(sed -n '31,33p' out)
	assert_output $'k3 2\nk3 3\nnew 1'
	run jq -r '"\(.instance_id) \(.version)"' <(sed -n '34,$p' out | sort)
	assert_output $'copied 1\nk5 2'
}

@test "--follow on a root that does not exist yet waits for it" {
	bg out fold-watch --follow --type counter
	sleep 0.2
	inc a 2
	wait_until 5 file_has_lines out 2
	kill -INT "$BG_PID"
	wait "$BG_PID"
	check_records out
}

@test "--checkpoint resumes after what --commit confirmed, nothing twice" {
	inc a 2
	run --separate-stderr fold-watch --checkpoint mail
	assert_success
	[[ ${#lines[@]} -eq 2 ]]
	fold-watch --checkpoint mail --commit
	[[ -f $ROOT/consumers/mail/checkpoint.json ]]
	inc a 1
	inc b 1
	run --separate-stderr fold-watch --checkpoint mail
	assert_success
	fold-watch --checkpoint mail --commit
	run jq -r '"\(.instance_id) \(.version)"' <<<"$output"
	assert_output $'a 3\nb 1'
	run --separate-stderr fold-watch --checkpoint mail
	assert_success
	assert_output ''
	refute_stderr
	# another name has its own position
	run --separate-stderr fold-watch --checkpoint other
	[[ ${#lines[@]} -eq 4 ]]
}

@test "--checkpoint with --follow; a second run of the name waits, then exits 75" {
	inc a 1
	bg out fold-watch --follow --checkpoint tail
	wait_until 5 file_has_lines out 1
	run --separate-stderr fold-watch --checkpoint tail --lock-timeout 200ms
	assert_failure 75
	assert_stderr_line -n 0 -p 'fold-watch: error: consumer "tail" is in use'
	assert_stderr_line -n 1 -p 'hint:'
	inc a 1
	wait_until 5 file_has_lines out 2
	stop "$BG_PID"
	[[ $STOP_STATUS -eq 0 ]]
	fold-watch --checkpoint tail --commit
	inc a 1
	run --separate-stderr fold-watch --checkpoint tail
	assert_success
	[[ $(jq -r .version <<<"$output") == 3 ]]
}

@test "a rewritten stream is reported and printed again for a durable consumer" {
	skip_on_nats "writes a stream's files"
	inc a 3
	fold-watch --checkpoint c >/dev/null && fold-watch --checkpoint c --commit
	head -n 1 "$(log_file counter a)" >short && cat short >"$(log_file counter a)"
	run --separate-stderr fold-watch --checkpoint c
	assert_success
	assert_stderr -p 'rewritten'
	[[ $(jq -r .version <<<"$output") == 1 ]]
}

@test "fold-watch | head -1 ends cleanly, in catch-up and in --follow" {
	envelopes a Increment 2000 | exec_counter >/dev/null
	run --separate-stderr bash -c 'fold-watch | head -1; echo "status ${PIPESTATUS[0]}" >&2'
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	assert_stderr 'status 0'
	# --follow notices the reader is gone without waiting for an append.
	run --separate-stderr timeout 5 bash -c 'fold-watch --follow | head -1; echo "status ${PIPESTATUS[0]}" >&2'
	assert_success
	assert_stderr 'status 0'
}

@test "SIGINT during a catch-up stops with whole lines and status 0" {
	envelopes a Increment 3000 | exec_counter >/dev/null
	# A slow reader keeps fold-watch mid catch-up (blocked on a full pipe)
	# when the signal comes.
	mkfifo pipe
	{ sleep 0.5; cat; } <pipe >out 3>&- &
	BG_PIDS+=($!)
	fold-watch --checkpoint big >pipe 2>err 3>&- &
	local pid=$!
	BG_PIDS+=("$pid")
	# its signal handling is set up once it holds the consumer's lock
	wait_until 5 test -e "$ROOT/consumers/big/checkpoint.json.lock"
	kill -INT "$pid"
	wait "$pid"
	wait_until 5 gone "${BG_PIDS[0]}"
	jq -e . out >/dev/null # every line printed is whole
	n=$(wc -l <out)
	[[ $n -lt 3000 ]] || skip "the catch-up finished before the signal"
	# a stop is a clean end: what was printed is confirmed by --commit, and
	# the next run prints the rest
	fold-watch --checkpoint big --commit
	run fold-watch --checkpoint big
	[[ $((n + ${#lines[@]})) -eq 3000 ]] || fail "printed $n, then ${#lines[@]}"
	[[ $(jq -r .version <<<"${lines[0]}") -eq $((n + 1)) ]]
}
