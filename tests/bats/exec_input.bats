#!/usr/bin/env bats
# fold-exec and what it is fed: every bad input the SPEC names, failing
# handlers, --errors json, --rejects, expected_version, command_id, --inject,
# --bare, --type/--id defaults, blank lines, usage errors and exit statuses.

load helpers

# streams_on_disk: TYPE/ID of every stream directory under $ROOT, sorted.
streams_on_disk() {
	local r
	r=$(streams_root) || return 1
	[[ -d $r/streams ]] || return 0
	(cd "$r/streams" && find . -mindepth 2 -maxdepth 2 | sed 's|^\./||' | sort)
}

# bad_input: a file of good and bad envelopes; the good ones are lines 1, 9
# and 16, all for counter/b1.
bad_input() {
	local long
	long=$(printf 'x%.0s' {1..256})
	{
		envelope b1 Increment                                                      # 1
		echo '{not json'                                                           # 2
		echo '{"aggregate_type":"counter","command":{"type":"Increment"}}'         # 3
		echo '{"aggregate_type":"counter","instance_id":"b1"}'                     # 4
		envelope ../x Increment                                                    # 5
		envelope a/b Increment                                                     # 6
		envelope '' Increment                                                      # 7
		TYPE=nope envelope b1 Increment                                            # 8
		envelope b1 Increment                                                      # 9
		echo '[1,2]'                                                               # 10
		envelope .. Increment                                                      # 11
		TYPE=../t envelope x Increment                                             # 12
		envelope 'a\u0000b' Increment                                              # 13
		envelope "$long" Increment                                                 # 14
		echo '{"aggregate_type":"counter","instance_id":"b1","command":"Increment"}' # 15
		envelope b1 Increment                                                      # 16
	} >in.jsonl
}

@test "bad input: each line reported with its number and value, the rest still run" {
	bad_input
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1

	# the good lines ran, in order
	run jq -c '[.instance_id, .version]' <<<"$output"
	assert_output - <<-'EOF'
		["b1",1]
		["b1",2]
		["b1",3]
	EOF

	[[ ${#stderr_lines[@]} -eq 13 ]] || fail "want 13 errors, got: $stderr"
	assert_stderr_line -n 0 -e '^fold-exec: error: line 2: .*JSON'
	assert_stderr_line -n 1 -e '^fold-exec: error: line 3: .*instance_id'
	assert_stderr_line -n 2 -e '^fold-exec: error: line 4: .*command'
	assert_stderr_line -n 3 -e '^fold-exec: error: line 5: instance_id "\.\./x" '
	assert_stderr_line -n 4 -e '^fold-exec: error: line 6: instance_id "a/b" '
	assert_stderr_line -n 5 -e '^fold-exec: error: line 7: .*instance_id'
	assert_stderr_line -n 6 -e '^fold-exec: error: line 8: .*aggregate_type "nope"'
	assert_stderr_line -n 7 -e '^fold-exec: error: line 10: .*\[1,2\]'
	assert_stderr_line -n 8 -e '^fold-exec: error: line 11: instance_id "\.\." '
	assert_stderr_line -n 9 -e '^fold-exec: error: line 12: aggregate_type "\.\./t" '
	assert_stderr_line -n 10 -e '^fold-exec: error: line 13: instance_id "a.*b" .*NUL'
	assert_stderr_line -n 11 -e '^fold-exec: error: line 14: instance_id "xxxxxxxx.*255'
	assert_stderr_line -n 12 -e '^fold-exec: error: line 15: .*command'

	# nothing bad was written
	run streams_on_disk
	assert_output 'counter/b1'
	[[ $(check_log counter b1) -eq 3 ]]
	[[ $(wc -l <"$(streams_root)/meta/streams.jsonl") -eq 1 ]]
	[[ ! -e x && ! -e $ROOT/x && ! -e $ROOT/streams/x && ! -e $ROOT/t ]]
	[[ -z $(find "$BATS_TEST_TMPDIR" -name '*b' -o -name nope -o -name t | grep -v '/in.jsonl$') ]]
}

@test "bad input with --errors json: kind, line and input of each" {
	bad_input
	run --separate-stderr exec_counter --errors json <in.jsonl
	assert_failure 1
	[[ $(wc -l <<<"$output") -eq 3 ]]
	local errs=$stderr
	# every stderr line is one JSON error record
	run jq -c '[.line, .kind, (.message | type)]' <<<"$errs"
	assert_success
	assert_output - <<-'EOF'
		[2,"invalid_input","string"]
		[3,"invalid_input","string"]
		[4,"invalid_input","string"]
		[5,"invalid_input","string"]
		[6,"invalid_input","string"]
		[7,"invalid_input","string"]
		[8,"unknown_type","string"]
		[10,"invalid_input","string"]
		[11,"invalid_input","string"]
		[12,"invalid_input","string"]
		[13,"invalid_input","string"]
		[14,"invalid_input","string"]
		[15,"invalid_input","string"]
	EOF
	# input: the line as JSON when it parsed, else as a string
	run jq -c 'select(.line == 2 or .line == 5 or .line == 8 or .line == 10) | .input' <<<"$errs"
	assert_output - <<-'EOF'
		"{not json"
		{"aggregate_type":"counter","instance_id":"../x","command":{"type":"Increment"}}
		{"aggregate_type":"nope","instance_id":"b1","command":{"type":"Increment"}}
		[1,2]
	EOF
	run jq -r 'select(.line == 5) | .message' <<<"$errs"
	assert_output --partial 'instance_id "../x"'
	run streams_on_disk
	assert_output 'counter/b1'
}

@test "unknown type and invalid lines alone create nothing, not even the root" {
	{
		TYPE=nope envelope x Increment
		envelope ../x Increment
		echo '{oops'
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	assert_output ''
	assert_stderr_line -n 0 -e 'line 1: .*"nope"'
	[[ ! -e $ROOT ]] || fail "$(find "$ROOT")"
}

@test "--rejects FILE: failed lines as dead letters, appended across runs; kept, they do not fail the run" {
	{
		envelope r1 Increment
		echo '{not json'
		envelope r1 Reset
		envelope r2 Decrement
		TYPE=nope envelope r1 Increment
		envelope r1 Increment '"command_id":"once"'
		envelope r1 Increment '"command_id":"once"'
	} >in.jsonl
	run --separate-stderr exec_counter --rejects dead.jsonl <in.jsonl
	assert_success
	[[ $(wc -l <<<"$output") -eq 3 ]]
	# each failure is still reported
	[[ $(grep -c '^fold-exec: error: line' <<<"$stderr") -eq 3 ]] || fail "$stderr"
	# {"envelope","error","ts"}, one per failure (a duplicate is not one)
	run jq -c 'keys_unsorted' dead.jsonl
	assert_output - <<-'EOF'
		["envelope","error","ts"]
		["envelope","error","ts"]
		["envelope","error","ts"]
	EOF
	run jq -c '.envelope' dead.jsonl
	assert_output - <<-'EOF'
		"{not json"
		{"aggregate_type":"counter","instance_id":"r2","command":{"type":"Decrement"}}
		{"aggregate_type":"nope","instance_id":"r1","command":{"type":"Increment"}}
	EOF
	run jq -r '.error' dead.jsonl
	assert_line -n 1 --partial 'counter is already zero, cannot decrement'
	assert_line -n 2 --partial '"nope"'
	run jq -r '.ts | type' dead.jsonl
	refute_line --partial -v number
	[[ $(jq -r '.ts' dead.jsonl | head -n 1) -ge $(($(date +%s) - 60)) ]]

	# the error text is the one stderr gave
	run --separate-stderr exec_counter --rejects dead.jsonl < <(envelope r3 Reset)
	assert_success
	assert_stderr -e '^fold-exec: error: line 1: .*nothing to reset$'
	[[ $(wc -l <dead.jsonl) -eq 4 ]]
	run sh -c 'tail -n 1 dead.jsonl | jq -r ".envelope.instance_id, .error"'
	assert_line -n 0 r3
	# the same text as on stderr
	[[ "fold-exec: error: line 1: ${lines[1]}" == "$stderr" ]] || fail "${lines[1]} vs $stderr"
}

@test "handler garbage, wrong shape, crash and timeout fail only their line" {
	COUNTER="sh $(sq "$HANDLERS/flaky.sh")"
	{
		envelope f Increment  # 1
		envelope f Garbage    # 2
		envelope f Increment  # 3
		envelope f WrongShape # 4
		envelope f Increment  # 5
		envelope f Crash      # 6
		envelope f Increment  # 7
		envelope f Sleep      # 8
		envelope f Increment  # 9
	} >in.jsonl
	# FLAKY_SLEEP bounds the run should fold fail to stop the sleeper
	FLAKY_SLEEP=5 run --separate-stderr timeout 60 fold-exec --errors json \
		--handler counter="$COUNTER" --handler-timeout 300ms <in.jsonl
	assert_failure 1
	run jq -c '[.version, .event.type]' <<<"$output"
	assert_output - <<-'EOF'
		[1,"Incremented"]
		[2,"Incremented"]
		[3,"Incremented"]
		[4,"Incremented"]
		[5,"Incremented"]
	EOF
	# the handler's own stderr passes through
	assert_stderr_line 'flaky: crashing on purpose'
	local errs
	errs=$(grep '^{' <<<"$stderr")
	run jq -c '[.line, .kind]' <<<"$errs"
	assert_output - <<-'EOF'
		[2,"handler_failed"]
		[4,"handler_failed"]
		[6,"handler_failed"]
		[8,"handler_failed"]
	EOF
	# each error names the handler, and what it printed
	run jq -r '.message' <<<"$errs"
	assert_line -n 0 --partial 'flaky.sh'
	assert_line -n 0 --partial 'this is not json at all'
	assert_line -n 1 --partial '[1,2,3]'
	assert_line -n 2 -e 'exit|crash|exited'
	assert_line -n 3 --partial '300ms'
	[[ $(check_log counter f) -eq 5 ]]
	run log_types counter f
	assert_output - <<-'EOF'
		Incremented
		Incremented
		Incremented
		Incremented
		Incremented
	EOF
}

@test "handler failure in text form: line number, handler, what it printed" {
	COUNTER="sh $(sq "$HANDLERS/flaky.sh")"
	{
		envelope g Garbage
		envelope g Increment
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	assert_stderr_line -e '^fold-exec: error: line 1: handler .*flaky\.sh.*"this is not json at all"'
	[[ $(jq -r .version <<<"$output") -eq 1 ]]
}

@test "a handler that does not exist is fatal once, before any input is read, creating nothing" {
	COUNTER=$BATS_TEST_TMPDIR/no-such-handler
	{
		envelope a Increment
		envelope b Increment
	} >in.jsonl
	run --separate-stderr exec_counter --errors json <in.jsonl
	assert_failure 3
	assert_output ''
	assert_stderr_line "fold-exec: error: handler \"$COUNTER\" cannot start: command not found"
	assert_no_stream counter a
	assert_no_stream counter b
}

@test "expected_version: conflict exits 1 (rerunning cannot help), nothing appended, across restarts" {
	COUNTER=$COUNTER_GO
	run --separate-stderr exec_counter < <(envelope e Increment '"expected_version":0')
	assert_success
	inc e 1
	# a new process: the stream holds 2 events
	run --separate-stderr exec_counter --errors json < <(envelope e Increment '"expected_version":1')
	assert_failure 1
	assert_output ''
	run jq -c '[.kind, .line]' <<<"$stderr"
	assert_output '["conflict",1]'
	run jq -r '.message' <<<"$stderr"
	assert_output --partial '1'
	assert_output --partial '2'
	[[ $(log_lines counter e) -eq 2 ]]

	run --separate-stderr exec_counter < <(envelope e Increment '"expected_version":2')
	assert_success
	[[ $(jq -r .version <<<"$output") -eq 3 ]]

	# in one run: the second of two expecting the same version conflicts
	{
		envelope e Increment '"expected_version":3'
		envelope e Increment '"expected_version":3'
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	assert_stderr -e '^fold-exec: error: line 2: .*expected_version'
	[[ $(jq -r .version <<<"$output") -eq 4 ]]
	[[ $(log_lines counter e) -eq 4 ]]
}

@test "a conflict beside another failure exits 1" {
	COUNTER=$COUNTER_GO
	inc e 1
	{
		envelope e Increment '"expected_version":0'
		envelope z Decrement
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	[[ ${#stderr_lines[@]} -eq 2 ]]
}

@test "command_id: a duplicate appends nothing, is reported, exits 0, across restarts" {
	COUNTER=$COUNTER_GO
	{
		envelope d Increment '"command_id":"c1"'
		envelope d Increment '"command_id":"c1"'
		envelope d Increment '"command_id":"c2"'
		envelope other Increment '"command_id":"c1"'
	} >in.jsonl
	run --separate-stderr exec_counter --errors json <in.jsonl
	assert_success
	run jq -c '[.instance_id, .version, .event.meta.command_id]' <<<"$output"
	assert_output - <<-'EOF'
		["d",1,"c1"]
		["d",2,"c2"]
		["other",1,"c1"]
	EOF
	run jq -c '[.kind, .line]' <<<"$stderr"
	assert_output '["duplicate",2]'

	# a later run, with the command_id's event behind a snapshot
	inc d 3
	run --separate-stderr exec_counter --snapshot-every 1 < <(envelope d Increment '"command_id":"c2"')
	assert_success
	assert_output ''
	refute_stderr # a duplicate is not an error: a note, at info level
	run --separate-stderr exec_counter --log-level info < <(envelope d Increment '"command_id":"c2"')
	assert_success
	assert_stderr -e '^fold-exec: note: line 1: .*"c2".*: skipped$'
	[[ $(log_lines counter d) -eq 5 ]]
	run value_of d
	assert_output 5
}

@test "--inject: events appended without a handler, ids deduplicated across runs" {
	{
		echo '{"aggregate_type":"counter","instance_id":"i","event":{"type":"Incremented","data":null,"ts":1700000000,"id":"ev-1"}}'
		echo '{"aggregate_type":"counter","instance_id":"i","event":{"type":"Incremented","data":null,"ts":1700000001,"id":"ev-1"}}'
		echo '{"aggregate_type":"counter","instance_id":"i","event":{"type":"Incremented"}}'
		echo '{"aggregate_type":"counter","instance_id":"i","event":{"type":"WasReset","data":{"previous":2},"ts":1700000002,"id":"ev-2","actor":"sync"}}'
	} >in.jsonl
	local before
	before=$(date +%s)
	run --separate-stderr fold-exec --inject --errors json <in.jsonl
	assert_success
	run jq -c '[.version, .event.id]' <<<"$output"
	assert_output - <<-'EOF'
		[1,"ev-1"]
		[2,null]
		[3,"ev-2"]
	EOF
	run jq -c '[.kind, .line]' <<<"$stderr"
	assert_output '["duplicate",2]'
	local log
	log=$(log_file counter i)
	# the events are stored as given; the one without ts got one, now
	run sed -n 1p "$log"
	assert_output '{"type":"Incremented","data":null,"ts":1700000000,"id":"ev-1"}'
	run sed -n 3p "$log"
	assert_output '{"type":"WasReset","data":{"previous":2},"ts":1700000002,"id":"ev-2","actor":"sync"}'
	run sh -c 'sed -n 2p "$1" | jq -c "[.type, .data, has(\"id\"), (.ts >= $2)]"' - "$log" "$before"
	assert_output '["Incremented",null,false,true]'

	# again, in a new process: every id is already there, nothing appended
	run --separate-stderr fold-exec --inject < <(sed -n 1p in.jsonl; sed -n 4p in.jsonl)
	assert_success
	assert_output ''
	[[ $(log_lines counter i) -eq 3 ]]
	run value_of i
	assert_output 0
}

@test "--inject of records replicates a root byte for byte, idempotently" {
	skip_on_nats "copies between roots; copy.bats copies to and from NATS"
	COUNTER=$COUNTER_GO
	{
		envelopes a Increment 3
		envelope a Reset '"context":{"actor":"x","correlation_id":"c"}'
		envelopes b Increment 2
	} >in.jsonl
	exec_counter <in.jsonl >records.jsonl
	run --separate-stderr fold-exec --inject --root "$BATS_TEST_TMPDIR/replica" <records.jsonl
	assert_success
	refute_stderr
	diff records.jsonl - <<<"$output" # same versions, offsets and hashes
	cmp "$(log_file counter a)" replica/streams/counter/a/app.jsonl
	cmp "$(log_file counter b)" replica/streams/counter/b/app.jsonl
	run --separate-stderr fold-exec --inject --root "$BATS_TEST_TMPDIR/replica" <records.jsonl
	assert_success
	assert_output ''
	cmp "$(log_file counter a)" replica/streams/counter/a/app.jsonl
}

@test "--inject: bad lines are reported and skipped" {
	{
		echo '{"aggregate_type":"counter","instance_id":"../x","event":{"type":"Incremented"}}'
		echo '{"aggregate_type":"counter","instance_id":"i"}'
		echo '{nope'
		echo '{"aggregate_type":"counter","instance_id":"i","event":{"type":"Incremented","id":"ok"}}'
	} >in.jsonl
	run --separate-stderr fold-exec --inject --errors json <in.jsonl
	assert_failure 1
	[[ $(jq -r .event.id <<<"$output") == ok ]]
	run jq -c '[.line, .kind]' <<<"$stderr"
	assert_output - <<-'EOF'
		[1,"invalid_input"]
		[2,"invalid_input"]
		[3,"invalid_input"]
	EOF
	run streams_on_disk
	assert_output 'counter/i'
}

@test "--type and --id fill what a line lacks, never what it gives" {
	COUNTER=$COUNTER_GO
	{
		echo '{"command":{"type":"Increment"}}'
		echo '{"instance_id":"given","command":{"type":"Increment"}}'
		echo '{"aggregate_type":"other","command":{"type":"Increment"}}'
	} >in.jsonl
	run --separate-stderr fold-exec --type counter --id dflt \
		--handler counter="$COUNTER_GO" --handler other="$COUNTER_GO" <in.jsonl
	assert_success
	run jq -c '[.aggregate_type, .instance_id, .version]' <<<"$output"
	assert_output - <<-'EOF'
		["counter","dflt",1]
		["counter","given",1]
		["other","dflt",1]
	EOF
	# a bare --handler serves --type
	run --separate-stderr fold-exec --type counter --handler "$COUNTER_GO" < <(echo '{"instance_id":"t","command":{"type":"Increment"}}')
	assert_success
	[[ $(jq -r .aggregate_type <<<"$output") == counter ]]
}

@test "--bare: each line is the command; blank lines skipped, still counted" {
	COUNTER=$COUNTER_GO
	printf '%s\n' '{"type":"Increment"}' '' '   ' '{"type":"Increment"}' '' '{"type":"Reset"}' '{"type":"Reset"}' >in.jsonl
	run --separate-stderr fold-exec --bare --type counter --id bare --handler "$COUNTER_GO" <in.jsonl
	assert_failure 1
	run jq -c '[.instance_id, .version, .event.type]' <<<"$output"
	assert_output - <<-'EOF'
		["bare",1,"Incremented"]
		["bare",2,"Incremented"]
		["bare",3,"WasReset"]
	EOF
	assert_stderr -e '^fold-exec: error: line 7: .*nothing to reset$'

	# blank lines among envelopes too
	printf '\n%s\n\n\n%s\n' "$(envelope n Increment)" "$(envelope n Bogus)" >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	assert_stderr -e '^fold-exec: error: line 5: .*unknown command "Bogus"'
	[[ $(log_lines counter n) -eq 1 ]]
}

@test "usage errors exit 2 and write nothing" {
	local -a bad=(
		"--bogus"
		"--bare --type counter --handler $COUNTER_GO"
		"--sync sometimes --handler counter=$COUNTER_GO"
		"--errors yaml --handler counter=$COUNTER_GO"
		"--handler-timeout soon --handler counter=$COUNTER_GO"
		"--handler $COUNTER_GO"
		"extra-argument --handler counter=$COUNTER_GO"
		"--type counter --handler =x"
		"--handler a/b=cat"
		"--jobs 0 --handler counter=$COUNTER_GO"
		"--max-actors -1 --handler counter=$COUNTER_GO"
		"--snapshot-every -5 --handler counter=$COUNTER_GO"
		""
	)
	local args
	for args in "${bad[@]}"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run --separate-stderr fold-exec $args < <(envelope u Increment)
		[[ $status -eq 2 ]] || fail "fold-exec $args: exit $status, want 2 (stderr: $stderr)"
		assert_output ''
		assert_stderr_line -n 0 -e '^fold-exec: error: '
	done
	run --separate-stderr fold-exec state --handler counter="$COUNTER_GO" counter
	assert_failure 2
	run --separate-stderr fold-exec state --handler counter="$COUNTER_GO" --at-version x counter a
	assert_failure 2
	run --separate-stderr fold-exec nosuchcommand
	assert_failure 2
	run --separate-stderr fold-exec --handler a/b=cat </dev/null
	assert_equal "$stderr" 'fold-exec: error: --handler "a/b=cat": aggregate_type "a/b" is not a single path segment (contains /)'
	run --separate-stderr fold-exec --snapshot-every -5 --handler counter="$COUNTER_GO" </dev/null
	assert_equal "$stderr" 'fold-exec: error: --snapshot-every -5 is negative'
	run --separate-stderr fold-exec --type '' --handler "$COUNTER_GO" </dev/null
	assert_equal "$stderr" 'fold-exec: error: --type: aggregate_type "" is not a single path segment (empty)'
	[[ ! -e $ROOT ]] || fail "a usage error created $ROOT"
}

@test "--help and --version" {
	run --separate-stderr fold-exec --help
	assert_success
	assert_output --partial 'EXIT STATUS'
	assert_output --partial '75'
	assert_output --partial 'fold-exec state'
	run --separate-stderr fold-exec --version
	assert_success
	assert_output -e '[0-9]+\.[0-9]+'
}

@test "lock_timeout: an instance locked elsewhere exits 75, nothing appended" {
	skip_on_nats "the writer lock is per process on NATS: conflicts stand in for it across processes"
	COUNTER=$COUNTER_GO
	inc l 1
	local log
	log=$(log_file counter l)
	exec 8>>"$log"
	flock -x 8
	run --separate-stderr exec_counter --lock-timeout 200ms --errors json < <(
		envelope l Increment
		envelope free Increment
	) 8>&-
	exec 8>&-
	assert_failure 75
	run jq -c '[.line, .kind]' <<<"$stderr"
	assert_output '[1,"lock_timeout"]'
	[[ $(log_lines counter l) -eq 1 ]]
	[[ $(log_lines counter free) -eq 1 ]]
	# released: it goes through
	inc l 1
	[[ $(log_lines counter l) -eq 2 ]]
}

@test "an unusable root is fatal: exit 3" {
	skip_on_nats "streams are not in the root"
	COUNTER=$COUNTER_GO
	touch "$ROOT"
	run --separate-stderr exec_counter < <(envelopes a Increment 3)
	assert_failure 3
	assert_output ''
	assert_stderr_line -n 0 -e '^fold-exec: error: '
	[[ -f $ROOT && ! -s $ROOT ]]
}

@test "a field of the wrong JSON type is named, with its value" {
	{
		envelope a Increment '"expected_version":"three"'
		echo '{"aggregate_type":"counter","instance_id":42,"command":{"type":"Increment"}}'
		envelope a Increment '"command_id":7'
		envelope a Increment '"expected_version":-1'
		envelope a Increment
	} >in.jsonl
	run --separate-stderr exec_counter <in.jsonl
	assert_failure 1
	[[ $(jq -r .version <<<"$output") -eq 1 ]]
	assert_stderr_line -n 0 -e '^fold-exec: error: line 1: .*expected_version.*"three"'
	assert_stderr_line -n 1 -e '^fold-exec: error: line 2: .*instance_id.*42'
	assert_stderr_line -n 2 -e '^fold-exec: error: line 3: .*command_id.*7'
	assert_stderr_line -n 3 -e '^fold-exec: error: line 4: .*expected_version.*-1'
	# what a reader of Go would not know
	refute_stderr --partial 'Go struct'
}

@test "--memory bounds what a run holds, not what it does: 3,000 commands of 3 KiB under --memory 1MiB all run, in order" {
	local pad
	pad=$(head -c 3000 /dev/zero | tr '\0' x)
	awk -v pad="$pad" 'BEGIN {
		for (i = 0; i < 3000; i++)
			printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"m%d\",\"command\":{\"type\":\"Increment\",\"data\":{\"note\":\"%s\"}}}\n", i % 30, pad
	}' >"$BATS_TEST_TMPDIR/large.jsonl"
	run exec_counter --sync none --memory 1MiB "$BATS_TEST_TMPDIR/large.jsonl"
	assert_success
	[[ $(wc -l <<<"$output") -eq 3000 ]]
	# Each instance's versions come out in order: 1, 2, ... 100.
	run jq -rs 'group_by(.instance_id) | map([.[].version] == [range(1; 101)]) | all' <<<"$output"
	assert_output true
	[[ $(value_of m7) -eq 100 ]]

	run --separate-stderr exec_counter --memory 512KiB </dev/null
	assert_failure 2
	assert_stderr_line 'fold-exec: error: --memory "512KiB" is less than 1MiB'
}
