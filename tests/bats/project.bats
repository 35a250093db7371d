#!/usr/bin/env bats
# fold-project end to end: the eventfold-es TotalCounter projection over
# roots fold and eventfold-es wrote, checkpoints, --rebuild, --show,
# --stdin, --follow, one run per name, rewritten streams, failures.

load helpers

TOTALS_JQ="jq --unbuffered -c -f $(sq "$REPO/examples/counter/total_counter.jq")"

# project ARGS: the total-counter projection over counters (a function: run
# it in the background as fold-project itself, so signals reach it).
project() { fold-project --name total-counter --subscribe counter --handler "$TOTALS_JQ" "$@"; }

checkpoint_file() { printf '%s/projections/%s/checkpoint.json\n' "$ROOT" "${1:-total-counter}"; }

bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# teardown stops what a test left running (SIGTERM: fold programs stop
# cleanly on it) and waits for it.
teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# the counter example's story: 5 increments, 1 decrement, 1 reset.
story() {
	inc alpha 3
	envelope alpha Reset | exec_counter >/dev/null
	inc beta 2
	envelope beta Decrement | exec_counter >/dev/null
}

@test "--rebuild over the eventfold-es root arrives at its checkpoint's state and cursors" {
	skip_on_nats "reads the eventfold-es root's files"
	copy_eventfold_root root
	jq -S . "$(checkpoint_file)" >want.json
	run --separate-stderr project --rebuild
	assert_success
	refute_stderr
	assert_json_eq "$output" '{"total_increments":6,"total_decrements":2,"total_resets":1}'
	run diff <(jq -S . "$(checkpoint_file)") want.json
	assert_success
	# the saved file keeps the eventfold-es layout: two-space indent, no final newline
	[[ $(head -c 14 "$(checkpoint_file)") == $'{\n  "state": {' && $(tail -c 1 "$(checkpoint_file)") == '}' ]]
}

@test "catching up from the eventfold-es checkpoint reads only what fold appended" {
	skip_on_nats "reads the eventfold-es root's files"
	copy_eventfold_root root
	inc gamma 1
	run --separate-stderr project
	assert_success
	assert_json_eq "$output" '{"total_increments":7,"total_decrements":2,"total_resets":1}'
	[[ $(jq -r '.cursors["counter/gamma"].offset' "$(checkpoint_file)") -eq $(stat -c %s "$(log_file counter gamma)") ]]
}

@test "the counter story folds to 5 increments, 1 decrement, 1 reset" {
	story
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
}

@test "an incremental run and --rebuild end with the same state and cursors" {
	inc a 2
	project >/dev/null
	story
	project >/dev/null
	inc c 1
	run --separate-stderr project
	assert_success
	local incremental=$output
	jq -S . "$(checkpoint_file)" >incremental.json
	run --separate-stderr project --rebuild
	assert_success
	assert_output "$incremental"
	run diff <(jq -S . "$(checkpoint_file)") incremental.json
	assert_success
	# and a run with nothing new changes nothing and does not rewrite the file
	local before
	before=$(stat -c %Y.%s "$(checkpoint_file)")
	run --separate-stderr project
	assert_output "$incremental"
	[[ $(stat -c %Y.%s "$(checkpoint_file)") == "$before" ]]
}

@test "--subscribe limits the types; the handler's initial state shows before any record" {
	TYPE=other envelope x Increment | fold-exec --handler other="$COUNTER" >/dev/null
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":0,"total_decrements":0,"total_resets":0}'
	run --separate-stderr fold-project --name all --subscribe other,counter --handler "$TOTALS_JQ"
	assert_output '{"total_increments":1,"total_decrements":0,"total_resets":0}'
}

@test "--show prints the saved state without running; a name never run is an error" {
	story
	project >/dev/null
	run --separate-stderr fold-project --name total-counter --show
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
	run --separate-stderr fold-project --name nope --show
	assert_failure 1
	assert_stderr_line -n 0 -p 'projection "nope" has never run'
	run --separate-stderr fold-project --name total-counter --show --rebuild
	assert_failure 2
}

@test "--stdin: re-feeding the same records is idempotent; stdin is never read without it" {
	story
	fold-watch >records.jsonl
	run --separate-stderr project --stdin <records.jsonl
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
	run --separate-stderr project --stdin <records.jsonl
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
	inc alpha 1
	fold-watch >records.jsonl # all of it again, and one more
	run --separate-stderr project --stdin <records.jsonl
	assert_output '{"total_increments":6,"total_decrements":1,"total_resets":1}'
	# without --stdin the root is read, whatever stdin holds
	run --separate-stderr fold-project --name other --subscribe counter --handler "$TOTALS_JQ" <records.jsonl
	assert_output '{"total_increments":6,"total_decrements":1,"total_resets":1}'
	run --separate-stderr fold-project --name other --subscribe counter --handler "$TOTALS_JQ" <records.jsonl
	assert_output '{"total_increments":6,"total_decrements":1,"total_resets":1}'
}

@test "--stdin reports a bad line by number and goes on, exit 1" {
	inc a 2
	{ fold-watch | head -1; echo 'not json'; fold-watch | tail -1; } >in.jsonl
	run --separate-stderr project --stdin <in.jsonl
	assert_failure 1
	assert_output '{"total_increments":2,"total_decrements":0,"total_resets":0}'
	assert_stderr_line -n 0 -p 'fold-project: error: line 2: malformed JSON'
}

@test "a second run of the same name waits for the lock, then exits 75" {
	inc a 1
	bg out fold-project --name total-counter --subscribe counter --handler "$TOTALS_JQ" --follow
	wait_until 5 file_has_lines out 1
	run --separate-stderr project --lock-timeout 200ms
	assert_failure 75
	assert_stderr_line -n 0 -p 'fold-project: error: projection "total-counter" is in use'
	assert_stderr_line -n 1 -p 'hint: wait for the other run to end'
	# a patient one gets it once the first stops
	( sleep 0.3; kill -TERM "$BG_PID" ) 3>&- &
	run --separate-stderr project --lock-timeout 5s
	assert_success
	assert_output '{"total_increments":1,"total_decrements":0,"total_resets":0}'
}

@test "--follow prints the state once caught up and after each change; SIGTERM stops it with 0" {
	inc a 1
	bg out fold-project --name total-counter --subscribe counter --handler "$TOTALS_JQ" --follow
	wait_until 5 file_has_lines out 1
	inc a 1
	wait_until 5 file_has_lines out 2
	inc b 1
	wait_until 5 file_has_lines out 3
	kill -TERM "$BG_PID"
	wait "$BG_PID"
	run cat out
	assert_output - <<-'EOF'
		{"total_increments":1,"total_decrements":0,"total_resets":0}
		{"total_increments":2,"total_decrements":0,"total_resets":0}
		{"total_increments":3,"total_decrements":0,"total_resets":0}
	EOF
	run fold-project --name total-counter --show
	assert_output '{"total_increments":3,"total_decrements":0,"total_resets":0}'
}

@test "fold-watch --follow | fold-project --stdin --follow folds a live store" {
	mkfifo pipe
	fold-watch --follow --type counter >pipe 2>watch.err 3>&- &
	BG_PIDS+=($!)
	fold-project --stdin --follow --name live --handler "$TOTALS_JQ" <pipe >out 2>out.err 3>&- &
	BG_PIDS+=($!)
	inc a 1
	wait_until 5 file_has_lines out 1
	inc a 2
	wait_until 5 grep -q '"total_increments":3' out
}

@test "a rewritten stream is reported and the projection rebuilt" {
	skip_on_nats "writes a stream's files"
	story
	project >/dev/null
	# alpha loses its Reset (a restore from an older backup, say)
	head -n 3 "$(log_file counter alpha)" >short && cat short >"$(log_file counter alpha)"
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":0}'
	assert_stderr -p 'rebuilding the projection'
	assert_stderr -p 'stream \"counter/alpha\" was rewritten'
}

@test "a run after a full catch-up skips the logs unchanged since, and still reads any append and finds any rewrite" {
	skip_on_nats "writes a stream's files"
	story
	# logs last changed more than watch.ChangeMargin (2s) before a run's
	# start are the ones it may vouch for
	sleep 2.2
	project >/dev/null
	local inode
	inode=$(stat -c %i "$(checkpoint_file)")
	jq -e '.checked.checkpoint' "$ROOT/projections/total-counter/consumer.json" >/dev/null
	run --separate-stderr project --log-level debug
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
	assert_stderr -p 'read every stream streams=2 unchanged=2'
	# nothing moved: the checkpoint is not rewritten
	[[ $(stat -c %i "$(checkpoint_file)") == "$inode" ]]

	# an append as eventfold-es makes it (no change journal): a line at the
	# end of the log, first torn (a writer that crashed mid-line), then whole
	local beta line
	beta=$(log_file counter beta)
	line=$(head -n 1 "$beta")
	printf '%s' "${line:0:20}" >>"$beta"
	run --separate-stderr project --log-level debug
	assert_success
	assert_output '{"total_increments":5,"total_decrements":1,"total_resets":1}'
	assert_stderr -p 'unchanged=1'
	printf '%s\n' "${line:20}" >>"$beta"
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":6,"total_decrements":1,"total_resets":1}'

	# alpha's last line rewritten in place to other bytes of the same
	# length: its cursor's offset still fits, only its hash tells
	local alpha content
	alpha=$(log_file counter alpha)
	content=$(sed '$ s/"WasReset"/"WasResex"/' "$alpha")
	[[ $content != "$(cat "$alpha")" ]]
	printf '%s\n' "$content" >"$alpha"
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":6,"total_decrements":1,"total_resets":0}'
	assert_stderr -p 'stream \"counter/alpha\" was rewritten'
}

@test "a batch the handler fails on is not applied: the checkpoint keeps what came before, exit 1" {
	inc a 2
	project >/dev/null
	jq -S . "$(checkpoint_file)" >before.json
	inc a 1
	# it answers the start's probe (no records), and dies on any batch
	local dies='while IFS= read -r l; do case $l in *\"records\":\[\]*) echo "{}" ;; *) exit 3 ;; esac; done'
	run --separate-stderr fold-project --name total-counter --subscribe counter --handler "$dies"
	assert_failure 1
	assert_stderr_line -e '^fold-project: error: projection "total-counter": batch of 1 records from "counter/a" version 3 not applied: .*handler ".*" exited without answering \(exit status 3\)'
	assert_stderr_line -n 0 -p 'fold-project: warning: projection "total-counter": the handler changed since the last run (the command was'
	run diff <(jq -S . "$(checkpoint_file)") before.json
	assert_success
	# a rebuild that fails on its first batch leaves the old checkpoint too
	run --separate-stderr fold-project --name total-counter --subscribe counter --handler "$dies" --rebuild
	assert_failure 1
	run diff <(jq -S . "$(checkpoint_file)") before.json
	assert_success
	run --separate-stderr project
	assert_output '{"total_increments":3,"total_decrements":0,"total_resets":0}'
}

@test "a root that does not exist: the initial state, nothing created, and a warning" {
	skip_on_nats "about a root directory as the store"
	run --separate-stderr project
	assert_success
	assert_output '{"total_increments":0,"total_decrements":0,"total_resets":0}'
	assert_stderr_line -n 0 "fold-project: warning: no store at \"$ROOT\""
	[[ ! -e $ROOT ]]
}

@test "a Go projection handler gives per-type totals" {
	local totals=$BIN/totals-go
	if [[ ! -x $totals ]]; then # not among what make build builds (yet)
		totals=$BATS_RUN_TMPDIR/totals-go
		[[ -x $totals ]] || (cd "$REPO" && go build -o "$totals" ./examples/totals/go)
	fi
	story
	run --separate-stderr fold-project --name totals --handler "$(sq "$totals")"
	assert_success
	assert_json_eq "$output" '{"counts":{"Incremented":5,"Decremented":1,"WasReset":1},"events":7}'
}
