#!/bin/sh
# notify.sh: a stand-in for a mailer at the end of a fold-watch pipe. It
# reads event records, one per line, and "sends" one notice per record by
# printing it (a real one would call sendmail or an HTTP API), then exits
# 0 once it has handled all of its input, and non-zero on the first record
# it could not handle: the exit status is how fold learns whether the
# delivery can be confirmed.
#
#   fold-watch --checkpoint mailer --type counter | sh examples/delivery/notify.sh &&
#     fold-watch --checkpoint mailer --commit
#   fold-watch --checkpoint mailer --type counter --exec 'sh examples/delivery/notify.sh'
#
# NOTIFY_FAIL=1 makes it fail, as a mail server that is down would.
set -eu
while IFS= read -r record; do
	[ -z "${NOTIFY_FAIL:-}" ] || {
		echo "notify.sh: error: the mail server is not answering" >&2
		exit 75
	}
	printf '%s\n' "$record" | jq -r '"notice: \(.aggregate_type)/\(.instance_id) v\(.version): \(.event.type)"'
done
