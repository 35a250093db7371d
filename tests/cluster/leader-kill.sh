#!/usr/bin/env bash
# leader-kill.sh: fold on a real three-node NATS JetStream cluster whose
# stream leader is killed (kill -9) and restarted while two fold-exec
# processes run commands on the same instances (make test-cluster).
#
# Each trial starts three nats-server processes clustered on 127.0.0.1,
# makes an R3 store, and runs two `fold-exec --sync batch` on the same
# instances, each command with its own command_id. Mid-run the stream's
# leader is killed with kill -9, then restarted. A fold-exec either rides
# through the leader change (odd trials: it keeps trying for 30s) or exits
# 75 (even trials: it gives up after 1s); then it is run again on the same
# input, which its command_ids make safe, until it finishes. Then:
#   - every event a fold-exec acknowledged (printed) is in the store once,
#     at the version, offset and hash it was acknowledged with;
#   - every stream's versions run 1..n without a gap;
#   - every command took effect exactly once (one event per command_id);
#   - fold-watch reads it all.
#
#   tests/cluster/leader-kill.sh [TRIALS [COMMANDS]]
#
# TRIALS (default 3) trials of COMMANDS (default 4000) commands per
# process. Needs bin/ (make build), nats-server ($NATS_SERVER, else
# .cache/bin, else PATH), curl and jq. Prints a line per trial and a
# summary; exits non-zero on the first failed check.
set -euo pipefail

TRIALS=${1:-3}
COMMANDS=${2:-4000}
INSTANCES=20
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PATH=$REPO/bin:$PATH
NATS_SERVER=${NATS_SERVER:-$REPO/.cache/bin/nats-server}
[[ -x $NATS_SERVER ]] || NATS_SERVER=$(command -v nats-server) || {
	echo "leader-kill: no nats-server: run make nats-server" >&2
	exit 2
}
for p in fold-exec fold-watch counter-go; do
	[[ -x $REPO/bin/$p ]] || {
		echo "leader-kill: bin/$p is missing: run make build" >&2
		exit 2
	}
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/leader-kill.XXXXXX")
PIDS=() # nats-server pids, by node index
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "leader-kill: FAIL: $*" >&2
	exit 1
}

# free_port: sets REPLY to a 127.0.0.1 port no socket uses, below the
# kernel's range of ephemeral ports (which outgoing connections take) and
# not handed out before in this run.
USED=" "
free_port() {
	local low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	while :; do
		REPLY=$((10000 + RANDOM % (low - 10000)))
		[[ $USED == *" $REPLY "* ]] && continue
		(($(ss -tanH "sport = :$REPLY" | wc -l) == 0)) || continue
		USED+="$REPLY "
		return
	done
}

# start_node I: starts (or restarts) node I of the cluster.
start_node() {
	local i=$1
	"$NATS_SERVER" -c "$WORK/n$i.conf" -l "$WORK/n$i.log" </dev/null &
	PIDS[i]=$!
}

# leader: the server name of the store's stream leader.
leader() {
	local i
	for i in 0 1 2; do
		curl -fs "http://127.0.0.1:${MON[i]}/jsz?streams=true" 2>/dev/null |
			jq -r --arg s "$NAME" '.account_details[]?.stream_detail[]? | select(.name == $s) | .cluster.leader // empty' |
			grep . && return 0
	done
	return 1
}

# run_until_done N INPUT OUT: fold-exec on INPUT until it exits 0, each
# run's records appended to OUT; prints how many runs exited 75.
run_until_done() {
	local n=$1 in=$2 out=$3 runs=0 status
	while :; do
		runs=$((runs + 1))
		status=0
		fold-exec --store "$URL" --sync batch --handler counter=counter-go <"$in" >>"$out" 2>>"$WORK/exec$n.err" || status=$?
		case $status in
		0) break ;;
		75) ;;
		*) fail "fold-exec $n exited $status: $(tail -n 3 "$WORK/exec$n.err")" ;;
		esac
		((runs < 20)) || fail "fold-exec $n still exits 75 after $runs runs"
	done
	echo $((runs - 1))
}

total_reruns=0
total_events=0
began=$SECONDS
for ((trial = 1; trial <= TRIALS; trial++)); do
	t0=$SECONDS
	PORTS=() ROUTES=() MON=()
	for i in 0 1 2; do
		free_port
		PORTS[i]=$REPLY
		free_port
		ROUTES[i]=$REPLY
		free_port
		MON[i]=$REPLY
	done
	for i in 0 1 2; do
		cat >"$WORK/n$i.conf" <<-EOF
			server_name: n$i
			listen: 127.0.0.1:${PORTS[i]}
			http: 127.0.0.1:${MON[i]}
			jetstream { store_dir: "$WORK/trial$trial/n$i" }
			cluster {
			  name: fold-leader-kill
			  listen: 127.0.0.1:${ROUTES[i]}
			  routes: [nats://127.0.0.1:${ROUTES[0]}, nats://127.0.0.1:${ROUTES[1]}, nats://127.0.0.1:${ROUTES[2]}]
			}
		EOF
		start_node "$i"
	done
	NAME=lk$trial
	sleep 0.2
	for i in 0 1 2; do
		kill -0 "${PIDS[i]}" 2>/dev/null || fail "node n$i did not start: $(tail -n 2 "$WORK/n$i.log")"
	done
	# Odd trials wait out the election (they ride through); even ones give
	# up after a second (exit 75, then a rerun finishes the input).
	timeout=30s
	((trial % 2)) || timeout=1s
	URL="nats://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}/$NAME?replicas=3&timeout=$timeout"
	# The cluster is ready when its JetStream answers (within 60s).
	for ((i = 0; i < 60; i++)); do
		fold-exec streams --store "${URL%timeout=*}timeout=1s" >/dev/null 2>&1 && break
		sleep 0.5
	done
	((i < 60)) || fail "the cluster did not get ready: $(tail -n 5 "$WORK/n0.log")"

	# Two processes, the same instances, a command_id per command.
	for n in 1 2; do
		awk -v n="$COMMANDS" -v m="$INSTANCES" -v p="$n" 'BEGIN {
			for (i = 0; i < n; i++)
				printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"k%d\",\"command_id\":\"p%d-%d\",\"command\":{\"type\":\"Increment\"}}\n", i % m, p, i
		}' >"$WORK/in$n.jsonl"
	done
	: >"$WORK/out1.jsonl"
	: >"$WORK/out2.jsonl"
	# Create the store, then kill its leader once it has taken some load.
	echo '{"aggregate_type":"counter","instance_id":"k0","command_id":"init","command":{"type":"Increment"}}' |
		fold-exec --store "$URL" --handler counter=counter-go >"$WORK/init.jsonl"
	victim=$(leader) || fail "no stream leader found"
	(run_until_done 1 "$WORK/in1.jsonl" "$WORK/out1.jsonl" >"$WORK/reruns1") &
	e1=$!
	(run_until_done 2 "$WORK/in2.jsonl" "$WORK/out2.jsonl" >"$WORK/reruns2") &
	e2=$!
	while (($(cat "$WORK/out1.jsonl" "$WORK/out2.jsonl" | wc -l) < COMMANDS / 4)); do sleep 0.02; done
	i=${victim#n}
	kill -9 "${PIDS[i]}"
	killed=$SECONDS
	wait "${PIDS[i]}" 2>/dev/null || true
	killed_at=$(cat "$WORK/out1.jsonl" "$WORK/out2.jsonl" | wc -l)
	sleep 2
	start_node "$i"
	wait "$e1" || fail "fold-exec 1 did not finish"
	wait "$e2" || fail "fold-exec 2 did not finish"
	finished=$((SECONDS - killed))
	reruns=$(($(cat "$WORK/reruns1") + $(cat "$WORK/reruns2")))

	# The checks.
	fold-watch --store "$URL" >"$WORK/all.jsonl" || fail "fold-watch failed"
	cat "$WORK/init.jsonl" "$WORK/out1.jsonl" "$WORK/out2.jsonl" >"$WORK/acked.jsonl"
	want=$((2 * COMMANDS + 1))
	got=$(wc -l <"$WORK/all.jsonl")
	[[ $got -eq $want ]] || fail "trial $trial: the store holds $got events; $want commands were sent"
	acked=$(wc -l <"$WORK/acked.jsonl")
	# Acknowledged: present once, at the version, offset and hash printed.
	missing=$(jq -c '[.aggregate_type, .instance_id, .version, .offset, .hash, .event.id]' "$WORK/acked.jsonl" |
		sort | comm -23 - <(jq -c '[.aggregate_type, .instance_id, .version, .offset, .hash, .event.id]' "$WORK/all.jsonl" | sort) | wc -l)
	[[ $missing -eq 0 ]] || fail "trial $trial: $missing acknowledged events are not in the store as acknowledged"
	dups=$(jq -r '.event.id' "$WORK/all.jsonl" | sort | uniq -d | wc -l)
	[[ $dups -eq 0 ]] || fail "trial $trial: $dups event ids twice in the store"
	# Each command took effect once.
	cids=$(jq -r '.event.meta.command_id' "$WORK/all.jsonl" | sort -u | wc -l)
	[[ $cids -eq $want ]] || fail "trial $trial: $cids distinct command_ids in the store; $want sent"
	# Versions 1..n in every stream.
	gaps=$(jq -s -r 'group_by(.instance_id)[] | select([.[].version] != [range(1; length + 1)]) | .[0].instance_id' "$WORK/all.jsonl")
	[[ -z $gaps ]] || fail "trial $trial: versions not contiguous in $gaps"
	echo "trial $trial (timeout $timeout): leader $victim killed after $killed_at acknowledged commands and restarted 2s later;" \
		"both finished ${finished}s after the kill; $got events in the store, $acked acknowledged," \
		"$reruns run(s) exited 75 and were rerun; trial $((SECONDS - t0))s"
	total_reruns=$((total_reruns + reruns))
	total_events=$((total_events + got))

	for i in 0 1 2; do kill -9 "${PIDS[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	PIDS=()
done
echo "leader-kill: $TRIALS trials passed: $total_events events, 0 lost, 0 duplicated, $total_reruns reruns after exit 75; $((SECONDS - began))s"
