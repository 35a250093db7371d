#!/usr/bin/env bats
# Handler start-up, in every program that runs handlers: a handler that
# cannot start is one fatal error (exit 3) before any input is read; one
# that starts slowly gets an allowance of its own; one that never answers
# its first request is hinted at buffered output; one-shot handlers still
# work.

load helpers

setup() {
	fold_setup
	# A process manager that reacts with nothing.
	printf '%s\n' '{state: (.state // 0), commands: []}' >quiet.jq
	QUIET_PM="jq --unbuffered -c -f quiet.jq"
}

# records: the event records of two counter commands, for --stdin.
records() {
	COUNTER=$COUNTER_GO inc a 2
	fold-watch >records.jsonl
	[[ $(wc -l <records.jsonl) -eq 2 ]]
}

# assert_not_read FILE: the output of the last run ends with FILE whole,
# which `cat` printed after the fold program: it read none of it.
assert_not_read() {
	[[ $output == *"$(cat "$1")" ]] || fail "the program read some of $1; left: $output"
}

# assert_one_error PROG: stderr has exactly one error line, from PROG.
assert_one_error() {
	local n
	n=$(grep -c "^$1: error: " <<<"$stderr")
	[[ $n -eq 1 ]] || fail "$n error lines: $stderr"
}

@test "fold-exec: a handler that does not exist is one error, exit 3, nothing read" {
	round_robin 1000 50 >in.jsonl
	run --separate-stderr sh -c 'fold-exec --type counter --handler ./nosuch; echo "status $?"; cat' <in.jsonl
	assert_success
	assert_line -n 0 'status 3'
	assert_not_read in.jsonl
	assert_one_error fold-exec
	assert_stderr_line 'fold-exec: error: handler "./nosuch" cannot start: command not found'
	assert_stderr_line -p 'fold-exec: hint: the command line is run with /bin/sh -c'
	[[ ! -e $ROOT ]] || fail "the root was created"
}

@test "fold-exec state and every routed type are checked, not only the ones the input names" {
	inc a 1
	run --separate-stderr fold-exec state --handler counter=./nosuch counter a
	assert_failure 3
	assert_one_error fold-exec
	envelope a Increment >in.jsonl
	run --separate-stderr fold-exec --handler counter="$COUNTER" --handler other=./nosuch <in.jsonl
	assert_failure 3
	assert_stderr_line 'fold-exec: error: handler "./nosuch" cannot start: command not found'
	[[ $(log_lines counter a) -eq 1 ]]
}

@test "fold-project: a handler that cannot start is one error, exit 3, nothing read" {
	records
	run --separate-stderr sh -c 'fold-project --name t --subscribe counter --stdin --handler ./nosuch; echo "status $?"; cat' <records.jsonl
	assert_line -n 0 'status 3'
	assert_not_read records.jsonl
	assert_one_error fold-project
	assert_stderr_line 'fold-project: error: handler "./nosuch" cannot start: command not found'
	[[ ! -e $ROOT/projections/t/checkpoint.json ]]
}

@test "fold-pm: its own handler and --dispatch's aggregate handlers are checked before reading" {
	records
	run --separate-stderr sh -c 'fold-pm --name p --subscribe counter --stdin --handler ./nosuch; echo "status $?"; cat' <records.jsonl
	assert_line -n 0 'status 3'
	assert_not_read records.jsonl
	assert_one_error fold-pm
	assert_stderr_line 'fold-pm: error: handler "./nosuch" cannot start: command not found'

	run --separate-stderr sh -c 'fold-pm --name p --subscribe counter --stdin --handler "$1" --dispatch --handler counter=./nosuch; echo "status $?"; cat' sh "$QUIET_PM" <records.jsonl
	assert_line -n 0 'status 3'
	assert_not_read records.jsonl
	assert_one_error fold-pm
	assert_stderr_line 'fold-pm: error: handler "./nosuch" cannot start: command not found'
	[[ ! -e $ROOT/process_managers/p/dead_letters.jsonl ]]
}

@test "a handler that exits at once every time it starts is one error, after two tries" {
	round_robin 100 10 >in.jsonl
	run --separate-stderr fold-exec --handler counter='echo start >>starts; echo "broken: missing config" >&2; exit 2' <in.jsonl
	assert_failure 3
	assert_output ''
	assert_one_error fold-exec
	assert_stderr_line -p 'cannot start: exited without answering (exit status 2), each of the 2 times it was started'
	assert_stderr_line -p "fold-exec: hint: a handler reads requests on stdin and answers each with one line; try it by hand: echo '{\"op\":\"apply\","
	[[ $(wc -l <starts) -eq 2 ]]
	[[ $(grep -c '^broken: missing config' <<<"$stderr") -eq 2 ]]

	# the same with jq reading a program that is not there
	run --separate-stderr fold-exec --handler counter='jq --unbuffered -c -f nosuch.jq' <in.jsonl
	assert_failure 3
	assert_one_error fold-exec
	assert_stderr_line -p 'cannot start: exited without answering (exit status 2), each of the 2 times it was started'
}

@test "a handler file that is not executable is one error with a hint" {
	printf '#!/bin/sh\nexec jq --unbuffered -c -f "%s"\n' "$REPO/examples/counter/counter.jq" >counter.sh
	envelope a Increment >in.jsonl
	run --separate-stderr fold-exec --handler counter=./counter.sh <in.jsonl
	assert_failure 3
	assert_one_error fold-exec
	assert_stderr_line -p 'handler "./counter.sh" cannot start: it cannot be run (exit status 126'
	assert_stderr_line -p 'fold-exec: hint: make it executable (chmod +x)'
	chmod +x counter.sh
	run --separate-stderr fold-exec --handler counter=./counter.sh <in.jsonl
	assert_success
}

@test "one-shot handlers still work: each start answers one request" {
	COUNTER="echo start >>starts; exec sh $(sq "$HANDLERS/oneshot.sh")"
	run --separate-stderr exec_counter < <(envelopes a Increment 3)
	assert_success
	[[ ${#lines[@]} -eq 3 ]]
	# the start's probe, then one start per request
	[[ $(wc -l <starts) -eq 4 ]]
	run value_of a
	assert_output 3
}

@test "a slow start is not held against the first answer (--handler-timeout times the answer)" {
	# 2s to start, and 1s to answer each request
	COUNTER="sleep 2; exec $COUNTER_JQ"
	run --separate-stderr exec_counter --handler-timeout 1s < <(envelopes a Increment 3)
	assert_success
	refute_stderr
	[[ ${#lines[@]} -eq 3 ]]
}

@test "a handler that never answers its first request: the error hints at buffered output" {
	# jq without --unbuffered keeps its answers in a buffer while its stdout
	# is a pipe: fold waits for the start-up allowance (10s) and the timeout
	COUNTER="jq -c -f $(sq "$REPO/examples/counter/counter.jq")"
	run --separate-stderr exec_counter --handler-timeout 1s < <(envelope a Increment)
	assert_failure 3
	assert_one_error fold-exec
	assert_stderr_line -p 'cannot start: did not answer its first request within 11s (10s to start, 1s to answer)'
	assert_stderr_line 'fold-exec: hint: a handler must flush each answer line: jq needs --unbuffered, python -u; other programs can run under stdbuf -oL'
}
