#!/bin/sh
# demo-nats.sh: the demo (examples/scripts/demo.sh: the counter, its
# projection, the saga) with its streams on NATS JetStream: a nats-server
# of its own on a free 127.0.0.1 port, its storage in a temporary
# directory, stopped at the end. Consumers' state stays in the root
# (./demo-root). Run it with `make demo-nats`; the server is
# $NATS_SERVER, else .cache/bin/nats-server (make nats-server), else
# nats-server on PATH.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
server=${NATS_SERVER:-$here/.cache/bin/nats-server}
[ -x "$server" ] || server=$(command -v nats-server) || {
	echo "demo-nats.sh: error: no nats-server" >&2
	echo "demo-nats.sh: hint: run make nats-server, or set NATS_SERVER" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fold-demo-nats.XXXXXX")
"$server" -a 127.0.0.1 -p -1 -js -sd "$tmp/jetstream" --ports_file_dir "$tmp" -l "$tmp/nats-server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
until url=$(jq -er '.nats[0]' "$tmp"/*.ports 2>/dev/null) && fold-exec streams --store "$url/demo" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 250 ] || {
		echo "demo-nats.sh: error: nats-server did not start: $tmp/nats-server.log" >&2
		exit 1
	}
	sleep 0.02
done
echo "nats-server $("$server" --version | sed 's/.* //') at $url, JetStream storage in $tmp"
FOLD_STORE=$url/demo FOLD_SAGA_STORE=$url/saga sh "$here/examples/scripts/demo.sh"
printf '\n== the streams of both stores, in the order they were appended (fold-watch --order store)\n'
for name in demo saga; do
	fold-watch --store "$url/$name" --order store | jq -r --arg n "$name" '"   \($n): \(.aggregate_type)/\(.instance_id) v\(.version) \(.event.type)"'
done
