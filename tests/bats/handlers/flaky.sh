#!/bin/sh
# flaky.sh: an aggregate handler that misbehaves on demand, for testing how
# fold survives a bad handler. Pure sh (no jq), so that it answers fast even
# on a loaded machine. The command's type picks what it does:
#
#   Garbage     answers a line that is not JSON
#   WrongShape  answers JSON of the wrong shape (an array)
#   Crash       prints "flaky: crashing on purpose" to stderr and exits 3
#               without answering
#   Sleep       sleeps $FLAKY_SLEEP seconds (default 30), then answers
#   anything else: one Incremented event
#
# Every apply is answered with a null state (use a counter handler to read
# the state of what it wrote).
#
#   fold-exec --handler counter="sh tests/bats/handlers/flaky.sh"

while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	'') continue ;;
	*'"op":"apply"'*) echo '{"state":null}' ;;
	*'"type":"Garbage"'*) echo 'this is not json at all' ;;
	*'"type":"WrongShape"'*) echo '[1,2,3]' ;;
	*'"type":"Crash"'*)
		echo "flaky: crashing on purpose" >&2
		exit 3
		;;
	*'"type":"Sleep"'*)
		sleep "${FLAKY_SLEEP:-30}"
		echo '{"events":[{"type":"Incremented","data":null}]}'
		;;
	*) echo '{"events":[{"type":"Incremented","data":null}]}' ;;
	esac
done
