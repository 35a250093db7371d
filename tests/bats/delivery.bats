#!/usr/bin/env bats
# Acknowledged delivery at the pipe's edge (docs/delivery.md): a durable
# consumer's checkpoint moves only past what its downstream confirmed, by
# --commit after the pipe, or by --exec CMD's exit status; whatever the
# downstream does (fails, is killed, stops reading), the next run delivers
# again what was not confirmed.

load helpers

NOTIFY="sh $(sq "$REPO/examples/delivery/notify.sh")"

# records N: N counter records over a few streams.
records() { round_robin "$1" 3 | exec_counter >/dev/null; }

# versions: what a fold-watch output holds, as "id version" lines.
versions() { jq -r '"\(.instance_id) \(.version)"'; }

# saved_past N: the consumer live's checkpoint covers the first N records
# of the store (its cursors sum to their last offsets).
saved_past() {
	local want got
	want=$(fold-watch -n "$1" | jq -s 'group_by(.instance_id) | map(last.offset) | add')
	got=$(jq '[.cursors[].offset] | add' "$ROOT/consumers/live/checkpoint.json" 2>/dev/null) || return 1
	[[ $got == "$want" ]]
}

@test "the newcomer's sequence: a reader that failed gets every record again" {
	records 6
	run bash -c 'fold-watch --checkpoint mail --type counter | (sleep 0.5; exit 1)'
	assert_failure 1
	run --separate-stderr bash -c 'fold-watch --checkpoint mail --type counter | wc -l'
	assert_success
	assert_output 6
	# a reader that took everything, then failed: the same
	run bash -c 'fold-watch --checkpoint mail --type counter | (cat >/dev/null; exit 1)'
	assert_failure 1
	run --separate-stderr bash -c 'fold-watch --checkpoint mail --type counter | wc -l'
	assert_output 6
	assert_stderr_line -n 0 -p 'fold-watch: warning: consumer "mail": what an earlier run delivered was never confirmed: delivering it again'
	# confirmed, then a second run delivers nothing
	fold-watch --checkpoint mail --type counter | wc -l && fold-watch --checkpoint mail --commit
	run --separate-stderr fold-watch --checkpoint mail --type counter
	assert_success
	assert_output ''
	refute_stderr
}

@test "a reader that stops reading part-way confirms nothing; the next run delivers all" {
	records 6
	run --separate-stderr bash -c 'fold-watch --checkpoint part | { read -r line; echo "$line"; }'
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	assert_stderr -p 'the reader stopped before taking all its input'
	run --separate-stderr fold-watch --checkpoint part --commit
	assert_failure 1
	assert_stderr_line -n 0 -p 'fold-watch: error: consumer "part": nothing to confirm'
	assert_stderr_line -n 1 -p 'fold-watch: hint: nothing is lost'
	run fold-watch --checkpoint part
	[[ ${#lines[@]} -eq 6 ]]
	# a reader that takes so much the writes fail (EPIPE) is no different
	records 3000
	run bash -c 'fold-watch --checkpoint big | head -n 1 >/dev/null; fold-watch --checkpoint big --commit'
	assert_failure 1
	run bash -c 'fold-watch --checkpoint big | wc -l'
	assert_output 3006
}

@test "fold-pm's commands are confirmed by --commit once fold-exec ran them" {
	records 2
	cat >pm.jq <<-'EOF2'
		{state: ((.state // 0) + (.records | length)),
		 commands: [.records[] | {aggregate_type: "copy", instance_id: .instance_id, command: {type: "Increment"}}]}
	EOF2
	mirror() { fold-pm --name mirror --subscribe counter --handler 'jq --unbuffered -c -f pm.jq' "$@"; }
	# the downstream fails
	run bash -c "$(declare -f mirror); mirror | sh -c 'cat >/dev/null; exit 1'"
	assert_failure 1
	# nothing was confirmed: the same commands, the same ids, again
	mirror >cmds.1
	mirror 2>/dev/null >cmds.2
	cmp cmds.1 cmds.2
	[[ $(wc -l <cmds.1) -eq 2 ]]
	mirror | fold-exec --handler copy="$COUNTER" >/dev/null && mirror --commit
	run mirror
	assert_output ''
	[[ $(log_lines copy k0) -eq 1 && $(log_lines copy k1) -eq 1 ]]
}

@test "--exec: exit 0 confirms each batch; a failure stops there, and 75 passes through" {
	records 9
	run --separate-stderr fold-watch --checkpoint x --exec 'cat >>got.jsonl'
	assert_success
	assert_output ''
	[[ $(wc -l <got.jsonl) -eq 9 ]]
	records 3
	run --separate-stderr fold-watch --checkpoint x --exec 'cat >/dev/null; exit 1'
	assert_failure 1
	assert_stderr_line -n 0 'fold-watch: error: --exec "cat >/dev/null; exit 1" exited with status 1: a batch of 3 line(s) was not confirmed'
	assert_stderr_line -n 1 -p 'the next run'
	run --separate-stderr fold-watch --checkpoint x --exec 'cat >/dev/null; exit 75'
	assert_failure 75
	# the batch that failed is delivered again, and only it
	run --separate-stderr fold-watch --checkpoint x --exec 'cat'
	assert_success
	run sort < <(versions <<<"$output")
	assert_output $'k0 4\nk1 4\nk2 4'
	# the downstream's stdout is fold-watch's, and a batch of nothing runs nothing
	run --separate-stderr fold-watch --checkpoint x --exec 'echo ran'
	assert_success
	assert_output ''
}

@test "--exec with --follow confirms batch by batch; a restart resumes after the last confirmed" {
	records 3
	spawn fold-watch --follow --checkpoint live --exec 'cat >>got.jsonl' >out 2>err
	wait_until 10 file_has_lines got.jsonl 3
	records 3
	wait_until 10 file_has_lines got.jsonl 6
	# the checkpoint is saved right after the batch is confirmed: once it
	# is, a kill -9 loses nothing of it (before, the batch would be
	# delivered again: at least once)
	wait_until 10 saved_past 6
	kill -9 "$SPAWNED"
	records 3
	run --separate-stderr fold-watch --checkpoint live --exec 'cat'
	assert_success
	run sort < <(versions <<<"$output")
	assert_output $'k0 3\nk1 3\nk2 3'
}

@test "--at-most-once moves the checkpoint as records are written, unconfirmed" {
	records 3
	run bash -c 'fold-watch --checkpoint amo --at-most-once | (sleep 0.3; exit 1)'
	run --separate-stderr fold-watch --checkpoint amo --at-most-once
	assert_success
	assert_output ''
	run --separate-stderr fold-watch --checkpoint amo --commit
	assert_failure 1
	run --separate-stderr fold-watch --at-most-once
	assert_failure 2
	assert_stderr -p '--at-most-once needs --checkpoint NAME'
}

@test "--if-busy=skip exits 0 at once, printing nothing, when another run holds the name" {
	records 3
	spawn fold-watch --follow --checkpoint busy >out 2>err
	wait_until 10 file_has_lines out 3
	run --separate-stderr fold-watch --checkpoint busy --if-busy=skip
	assert_success
	assert_output ''
	refute_stderr
	run --separate-stderr fold-watch --checkpoint busy --lock-timeout 100ms
	assert_failure 75
	assert_stderr -p '--if-busy=skip'
	run --separate-stderr fold-watch --checkpoint busy --if-busy=later
	assert_failure 2
}

@test "kill -9 of the downstream at random moments: nothing lost, every effect once (20 trials each)" {
	skip_on_nats "its trials make roots of their own"
	run --separate-stderr "$REPO/tests/delivery/kill9.sh" 20
	assert_success
	assert_line -e '^watch: 20 trials, [0-9]+ kills, 0 lost, 0 extra after commit$'
	assert_line -e '^saga: 20 trials, [0-9]+ kills, 0 applied twice, 0 version gaps, 0 missing or doubled outcomes, 0 extra after commit$'
	# the kills did land
	[[ $(sed -n 's/^watch: 20 trials, \([0-9]*\) kills.*/\1/p' <<<"$output") -ge 5 ]]
}

@test "fold-watch consumers: records behind, pending, dead letters and last run of each" {
	records 6
	fold-watch --checkpoint a >/dev/null && fold-watch --checkpoint a --commit
	fold-watch --checkpoint b >/dev/null
	fold-project --name totals --handler "jq --unbuffered -c -f $(sq "$REPO/examples/counter/total_counter.jq")" >/dev/null
	records 3
	run --separate-stderr fold-watch consumers
	assert_success
	refute_stderr
	run jq -c '[.kind, .name, .behind, .pending, .last_run.outcome]' <<<"$output"
	assert_output - <<-'EOF'
		["projection","totals",3,0,"ok"]
		["consumer","a",3,0,"ok"]
		["consumer","b",9,6,"ok"]
	EOF
	# a table on a terminal
	run script -qec "fold-watch consumers" /dev/null
	assert_success
	assert_line -n 0 -e '^KIND +NAME +BEHIND +PENDING +DEAD LETTERS +LAST RUN +OUTCOME'
}

@test "docs/delivery.md: the shell, cron and make examples run verbatim" {
	repo_like
	records 4
	# 1: a pipe, then --commit
	run --separate-stderr sh -c "$(doc_block docs/delivery.md sh 1)"
	assert_success
	[[ ${#lines[@]} -eq 4 ]]
	assert_line -e '^notice: counter/k0 v1: Incremented$'
	run fold-watch --checkpoint mailer --type counter
	assert_output ''
	# 3: --exec; the mail server is down: exit 75, nothing confirmed
	records 2
	NOTIFY_FAIL=1 run --separate-stderr sh -c "$(doc_block docs/delivery.md sh 3)"
	assert_failure 75
	run --separate-stderr sh -c "$(doc_block docs/delivery.md sh 3)"
	assert_success
	[[ ${#lines[@]} -eq 2 ]]
	# the crontab line, its schedule taken off
	records 1
	run --separate-stderr sh -c "$(doc_block docs/delivery.md crontab 1 | grep -v '^#' | sed -E 's/^([^ ]+ +){5}//')"
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	# make
	records 1
	doc_block docs/delivery.md make 1 >notify.mk
	run --separate-stderr make -s -f notify.mk notify
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	records 1
	NOTIFY_FAIL=1 run --separate-stderr make -s -f notify.mk notify
	assert_failure
	# not confirmed: delivered again
	run --separate-stderr make -s -f notify.mk notify
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	# 4: the listing
	run --separate-stderr sh -c "$(doc_block docs/delivery.md sh 4)"
	assert_success
	[[ $(jq -r .name <<<"$output") == mailer ]]
}

@test "docs/delivery.md: the saga pipe with --commit runs verbatim, and a rerun sends nothing" {
	repo_like
	local saga=$REPO/examples/saga
	{
		echo '{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":5}}}'
		echo '{"aggregate_type":"order","instance_id":"o-1","command":{"type":"Place","data":{"sku":"widget","qty":2}}}'
	} | fold-exec --handler order="jq --unbuffered -c -f $(sq "$saga/order.jq")" --handler inventory="sh $(sq "$saga/inventory.sh")" >/dev/null
	for round in 1 2 3 4; do
		run --separate-stderr sh -c "$(doc_block docs/delivery.md sh 2)"
		assert_success # the Ship command is a dead letter: handled
	done
	[[ $(jq -r .state.status < <(fold-exec state --handler order="jq --unbuffered -c -f $(sq "$saga/order.jq")" order o-1)) == confirmed ]]
	run jq -r .envelope.command.type fold-data/process_managers/fulfil/dead_letters.jsonl
	assert_output Ship
	run fold-pm --name fulfil --subscribe order,inventory --handler 'jq --unbuffered -c -f examples/saga/fulfil.jq'
	assert_output ''
}

@test "README: the cron and make examples of delivery run verbatim" {
	repo_like
	records 2
	run --separate-stderr sh -c "$(doc_block README.md crontab 1 | sed -E 's/^([^ ]+ +){5}//')"
	assert_success
	[[ ${#lines[@]} -eq 2 ]]
	run fold-watch --checkpoint mailer
	assert_output ''
	records 1
	doc_block README.md make 1 >notify.mk
	NOTIFY_FAIL=1 run --separate-stderr make -s -f notify.mk notify
	assert_failure
	run --separate-stderr make -s -f notify.mk notify
	assert_success
	[[ ${#lines[@]} -eq 1 ]]
	run fold-watch --checkpoint mailer
	assert_output ''
}

@test "fold-project --stdin: a record that comes twice in one input is applied once" {
	records 6
	fold-watch >recs.jsonl
	run --separate-stderr bash -c "cat recs.jsonl recs.jsonl | fold-project --stdin --name twice --handler $(sq "jq --unbuffered -c -f $REPO/examples/counter/total_counter.jq")"
	assert_success
	assert_output '{"total_increments":6,"total_decrements":0,"total_resets":0}'
	# interleaved with another stream's, and once more in a later run
	run --separate-stderr bash -c "{ head -n 3 recs.jsonl; cat recs.jsonl; } | fold-project --stdin --name twice --handler $(sq "jq --unbuffered -c -f $REPO/examples/counter/total_counter.jq")"
	assert_output '{"total_increments":6,"total_decrements":0,"total_resets":0}'
}

@test "a changed handler is noticed: a warning naming the change, --rebuild=auto rebuilds, --dry-run saves nothing" {
	records 3
	cp "$REPO/examples/counter/total_counter.jq" totals.jq
	local h='jq --unbuffered -c -f totals.jq'
	run --separate-stderr fold-project --name t --handler "$h"
	assert_output '{"total_increments":3,"total_decrements":0,"total_resets":0}'
	refute_stderr
	# the program changes: increments now count double
	sed -i 's/total_increments + 1/total_increments + 2/' totals.jq
	grep -q 'total_increments + 2' totals.jq
	records 3
	run --separate-stderr fold-project --name t --handler "$h"
	assert_output '{"total_increments":9,"total_decrements":0,"total_resets":0}'
	assert_stderr_line -n 0 'fold-project: warning: projection "t": the handler changed since the last run (file "totals.jq" changed); the state so far was made by the old one'
	assert_stderr_line -n 1 'fold-project: hint: --rebuild replays every record through the new handler; --rebuild=auto does so whenever it changes'
	# said once
	run --separate-stderr fold-project --name t --handler "$h"
	refute_stderr
	# a listing still says the state is mixed
	run fold-watch consumers
	[[ $(jq -r 'select(.name == "t") | .stale' <<<"$output") == 'file "totals.jq" changed' ]]
	# a dry run shows the rebuilt state and saves nothing
	cp "$ROOT/projections/t/checkpoint.json" before.json
	run --separate-stderr fold-project --name t --handler "$h" --rebuild --dry-run
	assert_output '{"total_increments":12,"total_decrements":0,"total_resets":0}'
	cmp before.json "$ROOT/projections/t/checkpoint.json"
	# --rebuild=auto rebuilds, once
	run --separate-stderr fold-project --name t --handler "$h" --rebuild=auto
	assert_output '{"total_increments":12,"total_decrements":0,"total_resets":0}'
	assert_stderr -p 'the handler changed since the last rebuild (file "totals.jq" changed): rebuilding'
	run --separate-stderr fold-project --name t --handler "$h" --rebuild=auto
	refute_stderr
	run fold-watch consumers
	[[ $(jq -r 'select(.name == "t") | .stale // ""' <<<"$output") == '' ]]
}

@test "fold-pm --dry-run prints the commands a run would emit, with --dispatch too, and runs nothing" {
	records 2
	cat >pm.jq <<-'EOF2'
		{state: null, commands: [.records[] | {aggregate_type: "copy", instance_id: .instance_id, command: {type: "Increment"}}]}
	EOF2
	run --separate-stderr fold-pm --name m --subscribe counter --handler 'jq --unbuffered -c -f pm.jq' --dispatch --handler copy="$COUNTER" --dry-run
	assert_success
	run sort < <(jq -r .command_id <<<"$output")
	assert_output $'fold-pm:m/counter/k0/1/0\nfold-pm:m/counter/k1/1/0'
	assert_no_stream copy k0
	[[ ! -e $ROOT/process_managers/m ]]
}
