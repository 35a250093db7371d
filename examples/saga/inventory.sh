#!/bin/sh
# inventory.sh: the inventory aggregate of the saga example, as a fold
# handler in POSIX sh; jq takes the JSON apart and quotes strings, the shell
# decides. One instance per sku.
#
#   fold-exec --handler inventory='sh inventory.sh'
#
# Commands and events are adjacently tagged, {"type":…,"data":…}:
#   Stock {qty}              → Stocked {qty}
#   Reserve {order_id, qty}  → Reserved {order_id, qty}, or, when fewer than
#                              qty are available, ReservationFailed
#                              {order_id, qty, reason: "out of stock"}
# Running out of stock is a fact the saga reacts to (it cancels the
# order), so it is an event: a rejection would only be a dead letter.
# State is {"available":N,"reserved":N}; null means none of either.

set -f # what jq prints is data, never a glob

whole() { # $1 is a whole number of at least 1
	case $1 in '' | *[!0-9]* | 0*) return 1 ;; esac
}

reply() { # jq builds the answer, so strings are quoted right: $1 program, then jq args
	prog=$1
	shift
	jq -nc "$@" "$prog"
}

while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	# @sh quotes each field for the shell, so eval only assigns.
	if ! fields=$(printf '%s\n' "$line" | jq -r '(.state // {}) as $s | (.command.data // {}) as $d |
		@sh "op=\(.op // "") available=\($s.available // 0) reserved=\($s.reserved // 0) type=\(.command.type // "") qty=\($d.qty // "" | tostring) order=\($d.order_id // "" | tostring)"'); then
		# Still one answer, or fold would wait for it.
		printf '%s\n' '{"error":"decode request: not a JSON object"}'
		continue
	fi
	eval "$fields"
	case $op in
	handle)
		case $type in
		Stock)
			if ! whole "$qty"; then
				printf '%s\n' '{"error":"Stock needs a whole qty of at least 1"}'
			else
				printf '{"events":[{"type":"Stocked","data":{"qty":%d}}],"state":{"available":%d,"reserved":%d}}\n' \
					"$qty" $((available + qty)) "$reserved"
			fi
			;;
		Reserve)
			if [ -z "$order" ] || ! whole "$qty"; then
				printf '%s\n' '{"error":"Reserve needs an order_id and a whole qty of at least 1"}'
			elif [ "$qty" -gt "$available" ]; then
				reply '{events: [{type: "ReservationFailed", data: {order_id: $o, qty: $q, reason: "out of stock"}}],
					state: {available: $a, reserved: $r}}' \
					--arg o "$order" --argjson q "$qty" --argjson a "$available" --argjson r "$reserved"
			else
				reply '{events: [{type: "Reserved", data: {order_id: $o, qty: $q}}], state: {available: $a, reserved: $r}}' \
					--arg o "$order" --argjson q "$qty" --argjson a $((available - qty)) --argjson r $((reserved + qty))
			fi
			;;
		*)
			printf '%s\n' "$line" | jq -c '{error: "unknown command \"\(.command.type // "")\""}'
			;;
		esac
		;;
	apply)
		events=$(printf '%s\n' "$line" | jq -r '(.events // [])[] | "\(.type) \(.data.qty // 0)"')
		while read -r t q; do
			case $t in
			Stocked) available=$((available + q)) ;;
			Reserved)
				available=$((available - q))
				reserved=$((reserved + q))
				;;
			esac # ReservationFailed and unknown events change nothing
		done <<EOF2
$events
EOF2
		printf '{"state":{"available":%d,"reserved":%d}}\n' "$available" "$reserved"
		;;
	*)
		printf '%s\n' "$line" | jq -c '{error: "unknown op \"\(.op // "")\""}'
		;;
	esac
done
