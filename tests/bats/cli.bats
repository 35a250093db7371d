#!/usr/bin/env bats
# The habits a shell user brings: inputs as arguments, flags anywhere, a
# typo answered with the nearest flag, a root that is not one refused, a
# store that is not there said so, and logs at the level asked for.

load helpers

# every program, as a command line that would read the root
PROGRAMS=(
	"fold-exec --handler counter=true"
	"fold-exec streams"
	"fold-exec state --handler counter=true counter a"
	"fold-watch"
	"fold-watch --list"
	"fold-watch consumers"
	"fold-project --name p --handler true"
	"fold-pm --name m --subscribe counter --handler true"
	"fold-pm dead-letters --name m"
)

@test "inputs as arguments: files in order, - for stdin, named in messages" {
	envelope a Increment >one.jsonl
	{
		echo '{not json'
		envelope a Increment
	} >two.jsonl
	run --separate-stderr exec_counter one.jsonl - two.jsonl < <(envelope b Increment)
	assert_failure 1
	run jq -r '"\(.instance_id) \(.version)"' <<<"$output"
	assert_output $'a 1\nb 1\na 2'
	assert_stderr_line -n 0 -e '^fold-exec: error: two.jsonl:1: malformed JSON "\{not json"'
	run --separate-stderr exec_counter --errors json two.jsonl
	run jq -c '[.file, .line, .kind]' <<<"$stderr"
	assert_output '["two.jsonl",1,"invalid_input"]'
	# a file that is not there: nothing read, nothing run
	run --separate-stderr exec_counter one.jsonl nope.jsonl
	assert_failure 2
	assert_output ''
	assert_stderr_line -n 0 'fold-exec: error: open nope.jsonl: no such file or directory'
	[[ $(log_lines counter a) -eq 3 ]]
}

@test "flags after the arguments count, as with GNU tools; -- ends them" {
	inc a 2
	run --separate-stderr fold-exec state counter a --handler counter="$COUNTER"
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 2 ]]
	envelope a Increment >in.jsonl
	run --separate-stderr fold-exec in.jsonl --handler counter="$COUNTER" --sync none
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 3 ]]
	# an instance named like a flag, after --
	envelope -x Increment | exec_counter >/dev/null
	run --separate-stderr fold-exec state --handler counter="$COUNTER" -- counter -x
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 1 ]]
}

@test "an unknown flag: one line with two dashes and the nearest flag, exit 2" {
	for cmd in "fold-exec --hndler x" "fold-watch --folow" "fold-exec state --at 3 counter a" "fold-pm retry --name x --handlr a=b"; do
		run --separate-stderr $cmd
		assert_failure 2
		assert_output ''
		[[ ${#stderr_lines[@]} -eq 2 ]] || fail "$cmd: $stderr"
	done
	run --separate-stderr fold-exec --hndler x
	assert_stderr $'fold-exec: error: unknown flag --hndler\nfold-exec: hint: did you mean --handler?'
	run --separate-stderr fold-exec state --at 3 counter a
	assert_stderr_line -n 1 'fold-exec: hint: did you mean --at-version?'
	run --separate-stderr fold-watch --zzzzzz
	assert_stderr_line -n 1 'fold-watch: hint: see --help for the flags'
}

@test "--help shows no default that would be refused" {
	run fold-exec state --help
	assert_success
	assert_line -p -- '--at-version N'
	refute_output -p '(default: 0)'
	run --separate-stderr fold-exec state --at-version 0 counter a --handler counter=true
	assert_failure 2
	assert_stderr_line -n 0 -p '--at-version "0" is not a version'
}

@test "a root that is a plain file is fatal, in every program, naming it" {
	echo not a root >file
	local cmd
	for cmd in "${PROGRAMS[@]}"; do
		run --separate-stderr $cmd --root file </dev/null
		[[ $status -eq 3 ]] || fail "$cmd: exit $status: $stderr"
		assert_output ''
		[[ ${stderr_lines[0]} == *': error: root "file" is not a directory' ]] || fail "$cmd: $stderr"
	done
}

@test "a reader pointed at a root that does not exist: nothing, exit 0, and a warning" {
	skip_on_nats "about a root directory as the store"
	local cmd
	for cmd in "fold-exec streams" "fold-watch" "fold-watch --list" "fold-watch consumers" "fold-pm --name m --subscribe counter --handler true"; do
		run --separate-stderr $cmd --root nowhere
		[[ $status -eq 0 ]] || fail "$cmd: exit $status: $stderr"
		assert_output ''
		[[ ${stderr_lines[0]} == *': warning: no store at "nowhere"' ]] || fail "$cmd: $stderr"
		[[ ! -e nowhere ]]
	done
}

@test "fold-exec says at info level that it creates a store; --log-level debug says what it does" {
	skip_on_nats "about a root directory as the store"
	run --separate-stderr exec_counter --log-level info < <(envelope a Increment)
	assert_success
	assert_stderr_line -n 0 "fold-exec: note: no store at \"$ROOT\" yet: the first event appended creates it"
	run --separate-stderr exec_counter --log-level info < <(envelope a Increment)
	refute_stderr
	run --separate-stderr exec_counter --log-level debug --snapshot-every 1 < <(envelope a Increment)
	assert_success
	assert_stderr_line -p 'fold-exec: debug: running store='
	assert_stderr_line -p 'fold-exec: debug: loaded stream=counter/a version=2'
	assert_stderr_line -p 'fold-exec: debug: snapshot saved stream=counter/a version=3'
	run --separate-stderr exec_counter < <(envelope a Increment)
	refute_stderr
}

@test "fold-watch --since, --from-version, -n: narrower catch-ups; a durable consumer resumes after -n" {
	# a is created first, then b
	{
		echo '{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":1700000000}}'
		echo '{"aggregate_type":"counter","instance_id":"a","event":{"type":"Incremented","data":null,"ts":1760000000}}'
	} | fold-exec --inject >/dev/null
	echo '{"aggregate_type":"counter","instance_id":"b","event":{"type":"Incremented","data":null,"ts":1760000001}}' |
		fold-exec --inject >/dev/null
	run fold-watch --since @1750000000
	[[ $(jq -rs 'map("\(.instance_id)\(.version)") | join(" ")' <<<"$output") == "a2 b1" ]]
	run fold-watch --since 2024-01-01T00:00:00Z
	[[ ${#lines[@]} -eq 2 ]]
	run fold-watch --since 1h
	assert_output ''
	run fold-watch --stream counter/a --from-version 2
	[[ $(jq -r .version <<<"$output") == 2 ]]
	run fold-watch -n 2
	[[ ${#lines[@]} -eq 2 ]]
	# -n with a durable consumer: the next run starts after what was printed
	run fold-watch --checkpoint c -n 2
	[[ ${#lines[@]} -eq 2 ]]
	fold-watch --checkpoint c --commit
	run fold-watch --checkpoint c
	[[ $(jq -r '"\(.instance_id)\(.version)"' <<<"$output") == b1 ]]
	# usage errors
	for bad in "--since yesterday" "--from-version 2" "--stream counter/a --from-version 0" "-n 0" "--since -5m"; do
		run --separate-stderr fold-watch $bad
		[[ $status -eq 2 ]] || fail "$bad: exit $status"
	done
}

@test "progress on a terminal only, never wider than the terminal" {
	round_robin 60000 100 | fold-exec --handler counter="$COUNTER_GO" --sync none >big.jsonl.records 2>plain.err
	[[ ! -s plain.err ]] # off a terminal: nothing
	round_robin 60000 100 >big.jsonl
	script -qec "stty cols 40; fold-exec --handler counter=$(sq "$COUNTER_GO") --sync none big.jsonl >out" /dev/null >tty.txt
	[[ $(wc -l <out) -eq 60000 ]]
	# what was drawn: status lines, each erased and redrawn, none wider than 39
	run awk 'length($0) > 0 { n++; if (length($0) > m) m = length($0) } END { print n + 0, m + 0 }' < <(tr '\r' '\n' <tty.txt | sed 's/\x1b\[K//g')
	read -r n widest <<<"$output"
	[[ $n -ge 1 && $widest -le 39 ]] || fail "$n lines drawn, the widest $widest: $(cat -v tty.txt)"
	grep -q 'fold-exec: [0-9]* lines' < <(tr '\r' '\n' <tty.txt)
}
