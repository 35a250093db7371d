#!/bin/sh
# counter.sh: the eventfold-es counter aggregate as a fold handler in POSIX
# sh; jq only takes the JSON apart, the shell decides.
#
#   fold-exec --handler counter='sh counter.sh'
#
# It behaves exactly as counter.jq: state {"value":N} (null means 0),
# commands Increment, Decrement and Reset, events Incremented, Decremented
# and WasReset {"previous":N}. Each request line gets one answer line.

set -f # what jq prints is data, never a glob

answer_events() { # $1: the events array, $2: the value after them
	printf '{"events":%s,"state":{"value":%d}}\n' "$1" "$2"
}

while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	# @sh quotes each field for the shell, so eval only assigns.
	if ! fields=$(printf '%s\n' "$line" | jq -r '@sh "op=\(.op // "") value=\((.state // {}).value // 0) type=\(.command.type // "")"'); then
		# Still one answer, or fold would wait for it.
		printf '%s\n' '{"error":"decode request: not a JSON object"}'
		continue
	fi
	eval "$fields"
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
		*)
			# jq writes the message so that any command type is escaped right.
			printf '%s\n' "$line" | jq -c '{error: "unknown command \"\(.command.type // "")\""}'
			;;
		esac
		;;
	apply)
		types=$(printf '%s\n' "$line" | jq -r '(.events // [])[].type')
		while IFS= read -r t; do
			case $t in
			Incremented) value=$((value + 1)) ;;
			Decremented) value=$((value - 1)) ;;
			WasReset) value=0 ;;
			esac # other events leave the state as it is
		done <<EOF
$types
EOF
		printf '{"state":{"value":%d}}\n' "$value"
		;;
	*)
		printf '%s\n' "$line" | jq -c '{error: "unknown op \"\(.op // "")\""}'
		;;
	esac
done
