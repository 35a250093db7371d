#!/bin/sh
# counter.sh: the eventfold-es counter aggregate as a fold handler in POSIX
# sh; jq only takes the JSON apart, the shell decides.
#
#   fold-exec --handler counter='sh examples/counter/counter.sh'
#
# It behaves exactly as counter.jq: state {"value":N} (null means 0),
# commands Increment, Decrement and Reset, events Incremented, Decremented
# and WasReset {"previous":N}. Each request line gets one answer line.
#
# What it costs: a handler is started once and sent every request, so it
# must not start a program per request. Running jq for each one (a fork and
# an exec, a few milliseconds) held it to a few hundred requests a second,
# a few dozen on a loaded machine. Instead, one jq runs beside the shell for
# the handler's whole life, spoken to through two fifos: the shell writes it
# each request and reads back one line of shell assignments. A request then
# costs two pipe round trips and the shell's `read`, which takes a pipe a
# byte at a time: a fraction of a millisecond. jq is still the only thing
# that parses JSON, which a shell cannot do safely.

set -f # what jq prints is data, never a glob

# fields: what the shell needs of a request, as assignments quoted by @sh.
# Events are listed by type; an error answer the shell would have to quote
# (an unknown command or op, named in it) is made here too. A request that
# is not an object still gets its line, so the two never fall out of step.
fields='try (
	[@sh "op=\(.op // "")",
	 @sh "value=\((.state // {}).value // 0)",
	 @sh "type=\(.command.type // "")",
	 @sh "events=\([(.events // [])[].type | strings] | join(" "))",
	 @sh "unknown_command=\({error: "unknown command \"\(.command.type // "")\""} | tojson)",
	 @sh "unknown_op=\({error: "unknown op \"\(.op // "")\""} | tojson)"]
	| join(" ")
) catch "op="'

dir=$(mktemp -d "${TMPDIR:-/tmp}/counter.sh.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/requests" "$dir/fields" || exit 1
# Each open of a fifo waits for the other end: jq opens requests to read,
# the shell to write; then jq opens fields to write, the shell to read.
jq --unbuffered -r "$fields" <"$dir/requests" >"$dir/fields" &
exec 3>"$dir/requests" 4<"$dir/fields"
rm -rf "$dir" # both ends are open: the names are not needed any more

answer_events() { # $1: the events array, $2: the value after them
	printf '{"events":%s,"state":{"value":%d}}\n' "$1" "$2"
}

while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	printf '%s\n' "$line" >&3
	if ! IFS= read -r assignments <&4; then
		# jq stopped (the line was not JSON): answer, and let fold start
		# this handler again for the next request.
		printf '%s\n' '{"error":"decode request: not a JSON object"}'
		exit 1
	fi
	op= value=0 type= events=
	eval "$assignments"
	case $op in
	handle)
		case $type in
		Increment)
			answer_events '[{"type":"Incremented","data":null}]' $((value + 1))
			;;
		Decrement)
			if [ "$value" -eq 0 ]; then
				printf '%s\n' '{"error":"counter is already zero, cannot decrement"}'
			else
				answer_events '[{"type":"Decremented","data":null}]' $((value - 1))
			fi
			;;
		Reset)
			if [ "$value" -eq 0 ]; then
				printf '%s\n' '{"error":"nothing to reset"}'
			else
				answer_events "[{\"type\":\"WasReset\",\"data\":{\"previous\":$value}}]" 0
			fi
			;;
		*) printf '%s\n' "$unknown_command" ;;
		esac
		;;
	apply)
		for t in $events; do
			case $t in
			Incremented) value=$((value + 1)) ;;
			Decremented) value=$((value - 1)) ;;
			WasReset) value=0 ;;
			esac # other events leave the state as it is
		done
		printf '{"state":{"value":%d}}\n' "$value"
		;;
	'') printf '%s\n' '{"error":"decode request: not a JSON object"}' ;;
	*) printf '%s\n' "$unknown_op" ;;
	esac
done
exec 3>&- # jq sees the end of its input and exits
wait
