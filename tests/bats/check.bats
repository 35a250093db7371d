#!/usr/bin/env bats
# fold-exec check, the root's fsck, as a user runs it: a root eventfold-es
# wrote and one fold wrote check clean; a torn tail, a corrupt line, a
# snapshot or a checkpoint that no longer matches are findings (JSON lines,
# exit 1); --repair cuts a torn tail under the writer lock, so that the
# next writer, fold's or eventfold-es's, appends onto a whole line.

load helpers

setup() {
	fold_setup
	skip_on_nats "fold-exec check reads the root's files"
}

# kinds: the kinds of the findings on stdout, space-separated, summary last.
kinds() { jq -r .kind <<<"$output" | paste -sd ' '; }

# summary FIELD: a field of the report's summary line.
summary() { tail -n 1 <<<"$output" | jq -r ".$1"; }

@test "check: the root eventfold-es 0.2.0 wrote checks clean" {
	copy_eventfold_root "$ROOT"
	run --separate-stderr fold-exec check
	assert_success
	refute_stderr
	assert_output "{\"kind\":\"summary\",\"root\":\"$ROOT\",\"streams\":3,\"events\":9,\"snapshots\":3,\"consumers\":1,\"dead_letters\":0,\"errors\":0,\"warnings\":0,\"repaired\":0,\"repairable\":0}"
}

@test "check: a root fold wrote, with consumers of every kind and dead letters, checks clean" {
	inc a 150 # past --snapshot-every 100: a snapshot
	inc b 2
	fold-project --name totals --subscribe counter \
		--handler "jq --unbuffered -c -f $(sq "$REPO/examples/counter/total_counter.jq")" >/dev/null
	fold-watch --checkpoint mirror >/dev/null
	fold-watch --checkpoint mirror --commit
	fold-watch --checkpoint pend >/dev/null # left pending
	envelope zero Decrement | exec_counter --rejects "$ROOT/process_managers/pm/dead_letters.jsonl" || true
	run --separate-stderr fold-exec check
	assert_success
	[[ $(summary streams) -eq 2 && $(summary events) -eq 152 && $(summary consumers) -eq 4 && $(summary dead_letters) -eq 1 ]] ||
		fail "summary: $output"
	[[ $(summary snapshots) -ge 1 ]]
	assert_equal "$(kinds)" summary
}

@test "check: a torn tail is an error; --repair cuts it, leaving the whole lines eventfold-es reads" {
	copy_eventfold_root "$ROOT"
	local log size
	log=$(log_file counter beta)
	size=$(wc -c <"$log")
	printf '{"type":"Incremented","data":nu' >>"$log"
	run --separate-stderr fold-exec check
	assert_failure 1
	assert_equal "$(kinds)" "torn_tail summary"
	assert_line -n 0 --partial "\"path\":\"$log\",\"offset\":$size,\"stream\":\"counter/beta\""
	assert_stderr_line 'fold-exec: error: 1 error(s) in root "'"$ROOT"'"'
	assert_stderr_line 'fold-exec: hint: fold-exec check --repair fixes 1 of them'
	[[ $(wc -c <"$log") -gt $size ]] # a check alone changes nothing

	run --separate-stderr fold-exec check --repair
	assert_success
	assert_line -n 0 --partial '"repaired":true'
	[[ $(summary repaired) -eq 1 && $(summary errors) -eq 0 ]]
	[[ $(wc -c <"$log") -eq $size ]]
	check_log counter beta >/dev/null

	run fold-exec check
	assert_success
	assert_equal "$(kinds)" summary
}

@test "check: --repair does not cut a torn tail under another writer's lock" {
	copy_eventfold_root "$ROOT"
	local log
	log=$(log_file counter alpha)
	printf '{"type"' >>"$log"
	flock "$log" sleep 3 3>&- &
	track $!
	sleep 0.2
	run --separate-stderr fold-exec check --repair --lock-timeout 100ms
	assert_failure 1
	assert_line -n 0 --partial 'not cut'
	refute_line -n 0 --partial '"repaired":true'
	[[ $(tail -c 7 "$log") == '{"type"' ]]
}

@test "check: a corrupt line, a snapshot and a checkpoint that no longer match their log" {
	copy_eventfold_root "$ROOT"
	local log
	log=$(log_file counter alpha)
	sed -i 's/"WasReset"/"WasResat"/' "$log"
	printf 'not json\n' >>"$(log_file counter gamma)"
	run --separate-stderr fold-exec check
	assert_failure 1
	assert_equal "$(kinds)" "snapshot_mismatch corrupt_line rewritten summary"
	assert_line -n 1 --partial '"message":"line 3: not valid JSON: \"not json\""'
	assert_line -n 2 --partial '"stream":"counter/alpha"'
	assert_line -n 2 --partial 'total-counter/checkpoint.json'
	assert_stderr_line 'fold-exec: hint: fold-exec check --repair fixes 1 of them'

	# the repair removes the snapshot; the corrupt line and the rewritten
	# cursor are for a person to look at
	run --separate-stderr fold-exec check --repair
	assert_failure 1
	[[ ! -e $(snapshot_file counter alpha) ]]
	[[ $(summary errors) -eq 2 ]]
}

@test "check: a stream missing from the registry is registered by --repair" {
	copy_eventfold_root "$ROOT"
	sed -i '/"beta"/d' "$ROOT/meta/streams.jsonl"
	run fold-exec check
	assert_failure 1
	assert_equal "$(kinds)" "unregistered_stream summary"
	run --separate-stderr fold-exec check --repair
	assert_success
	run jq -c . "$ROOT/meta/streams.jsonl"
	assert_line -n 2 --partial '"id":"beta"'
	run fold-exec check
	assert_success
}

@test "check: a root that does not exist is warned about, not an error" {
	run --separate-stderr fold-exec check --root nowhere
	assert_success
	assert_stderr --partial 'no store at "nowhere"'
	[[ ! -e nowhere ]]
}
