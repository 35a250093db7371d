#!/bin/sh
# oneshot.sh: answers one request as examples/counter/counter.jq would, then
# exits, so fold has to start it again for every request.
here=$(dirname "$0")
IFS= read -r line || exit 0
printf '%s\n' "$line" | jq -c -f "$here/../../../examples/counter/counter.jq"
