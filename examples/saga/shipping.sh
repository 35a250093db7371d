#!/bin/sh
# shipping.sh: the shipping aggregate of the saga example, as a fold handler
# in POSIX sh. One instance per order; it is the handler the saga demo
# "forgets" at first, so that its commands become dead letters to retry.
#
#   fold-exec --handler shipping='sh shipping.sh'
#
#   Ship → Shipped; refused when the order was shipped already.
# State is {"shipped":true|false}; null means false.

while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	if ! fields=$(printf '%s\n' "$line" | jq -r '@sh "op=\(.op // "") shipped=\((.state // {}).shipped // false) type=\(.command.type // "") events=\([(.events // [])[].type] | join(" "))"'); then
		printf '%s\n' '{"error":"decode request: not a JSON object"}'
		continue
	fi
	eval "$fields"
	case $op in
	handle)
		case $type in
		Ship)
			if [ "$shipped" = true ]; then
				printf '%s\n' '{"error":"already shipped"}'
			else
				printf '%s\n' '{"events":[{"type":"Shipped","data":null}],"state":{"shipped":true}}'
			fi
			;;
		*) printf '%s\n' "$line" | jq -c '{error: "unknown command \"\(.command.type // "")\""}' ;;
		esac
		;;
	apply)
		for t in $events; do
			[ "$t" = Shipped ] && shipped=true
		done
		printf '{"state":{"shipped":%s}}\n' "$shipped"
		;;
	*) printf '%s\n' "$line" | jq -c '{error: "unknown op \"\(.op // "")\""}' ;;
	esac
done
