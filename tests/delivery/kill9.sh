#!/usr/bin/env bash
# kill9.sh [TRIALS]: acknowledged delivery at the pipe's edge, under kill -9.
#
# Two properties, each tried TRIALS times (default 200), with the downstream
# killed with kill -9 at a random moment, and reruns until a run's downstream
# succeeds and the delivery is confirmed:
#
#   watch  fold-watch --checkpoint C | reader && fold-watch --checkpoint C --commit
#          (and the --exec form): every record of the root reaches the reader
#          at least once, and a run after the confirmed one delivers nothing.
#   saga   fold-pm --name fulfil … | fold-exec … && fold-pm --name fulfil --commit,
#          fold-exec killed: every command takes effect exactly once
#          (versions contiguous, no command_id twice in any stream, one
#          outcome per order), and a run after the confirmed one emits nothing.
#
# It prints one line per property, "watch: 200 trials, 513 kills, 0 lost,
# 0 extra after commit", and exits 1 if anything was lost or applied twice.
# The fold programs and saga-go are taken from PATH (make build; PATH=bin:$PATH).
set -euo pipefail
unset FOLD_STORE # its trials make roots of their own

trials=${1:-200}
only=${ONLY:-watch,saga} # which properties to try
work=$(mktemp -d "${TMPDIR:-/tmp}/fold-kill9.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
for p in fold-exec fold-watch fold-pm counter-go saga-go; do
	command -v "$p" >/dev/null || {
		echo "kill9.sh: error: $p is not on PATH" >&2
		echo "kill9.sh: hint: make build, then PATH=\$PWD/bin:\$PATH" >&2
		exit 2
	}
done
failed=0

# pause: a random pause of 0 to 29 ms, when the kill lands.
pause() { sleep "0.0$(printf '%02d' $((RANDOM % 30)))"; }

# reader OUT: a downstream that takes its input a line at a time, slowly
# enough for a kill to land mid-stream.
reader() { while IFS= read -r line; do printf '%s\n' "$line" >>"$1"; done; }

# --- watch ----------------------------------------------------------------------
watch_trials() {
	export FOLD_ROOT=$work/watch-root
	awk 'BEGIN { for (i = 0; i < 400; i++) printf "{\"aggregate_type\":\"counter\",\"instance_id\":\"k%d\",\"command\":{\"type\":\"Increment\"}}\n", i % 40 }' |
		fold-exec --handler counter=counter-go --sync none >/dev/null
	fold-watch | jq -r '"\(.aggregate_type)/\(.instance_id)/\(.version)"' | sort >all.txt
	local t kills=0 lost=0 extra=0 name got rounds status
	for ((t = 0; t < trials; t++)); do
		name=c$t got=got.$t
		: >"$got"
		for ((rounds = 0; ; rounds++)); do
			if ((t % 2)); then
				# the --exec form: fold-watch runs the reader per batch
				fold-watch --checkpoint "$name" --exec "while IFS= read -r l; do printf '%s\n' \"\$l\" >>$got; done" >/dev/null 2>>err.txt &
				local w=$!
				if ((rounds < 3 && RANDOM % 4 != 0)); then
					pause
					pkill -9 -P "$w" 2>/dev/null && kills=$((kills + 1)) || true
				fi
				status=0
				wait "$w" || status=$?
				((status == 0)) && break
			else
				# $! is the last command of the pipeline: the reader
				fold-watch --checkpoint "$name" 2>>err.txt | reader "$got" &
				local r=$!
				if ((rounds < 3 && RANDOM % 4 != 0)); then
					pause
					kill -9 "$r" 2>/dev/null && kills=$((kills + 1)) || true
				fi
				status=0
				wait "$r" 2>/dev/null || status=$?
				if ((status == 0)); then
					fold-watch --checkpoint "$name" --commit 2>>err.txt && break
				fi
			fi
			((rounds < 20)) || {
				echo "watch: trial $t did not settle" >&2
				failed=1
				break
			}
		done
		# every record at least once
		lost=$((lost + $(jq -r '"\(.aggregate_type)/\(.instance_id)/\(.version)"' "$got" | sort -u | comm -23 all.txt - | wc -l)))
		# and nothing after the confirmation
		extra=$((extra + $(fold-watch --checkpoint "$name" | wc -l)))
	done
	echo "watch: $trials trials, $kills kills, $lost lost, $extra extra after commit"
	((lost == 0 && extra == 0)) || failed=1
}

# --- saga -----------------------------------------------------------------------
saga_trials() {
	local t kills=0 twice=0 gaps=0 missing=0 extra=0 rounds status fe
	for ((t = 0; t < trials; t++)); do
		export FOLD_ROOT=$work/saga-root.$t
		{
			echo '{"aggregate_type":"inventory","instance_id":"widget","command":{"type":"Stock","data":{"qty":15}}}'
			for i in $(seq 1 20); do
				printf '{"aggregate_type":"order","instance_id":"o-%d","command":{"type":"Place","data":{"sku":"widget","qty":1}}}\n' "$i"
			done
		} | fold-exec --handler order=saga-go --handler inventory=saga-go >/dev/null
		for ((rounds = 0; ; rounds++)); do
			# $! is the last command of the pipeline: fold-exec
			fold-pm --name fulfil --subscribe order,inventory --handler saga-go 2>>err.txt |
				fold-exec --handler order=saga-go --handler inventory=saga-go --handler shipping=saga-go \
					--rejects "$FOLD_ROOT/rejects.jsonl" >>"saga.$t.out" 2>>err.txt &
			fe=$!
			if ((rounds < 4 && RANDOM % 4 != 0)); then
				pause
				kill -9 "$fe" 2>/dev/null && kills=$((kills + 1)) || true
			fi
			status=0
			wait "$fe" 2>/dev/null || status=$?
			if ((status == 0)) && fold-pm --name fulfil --commit 2>>err.txt; then
				# settled when a confirmed run emitted nothing new
				[[ -n $(fold-pm --name fulfil --subscribe order,inventory --handler saga-go --dry-run) ]] || break
			fi
			((rounds < 40)) || {
				echo "saga: trial $t did not settle" >&2
				failed=1
				break
			}
		done
		# exactly once: no command_id twice in a stream, versions
		# contiguous, one outcome per order, and a run after the
		# confirmed one emits nothing
		twice=$((twice + $(fold-watch | jq -r 'select(.event.meta.command_id) | "\(.aggregate_type)/\(.instance_id) \(.event.meta.command_id)"' | sort | uniq -d | wc -l)))
		gaps=$((gaps + $(fold-watch | jq -s -r 'group_by(.aggregate_type + "/" + .instance_id)[] | select([.[].version] != [range(1; length + 1)]) | .[0].instance_id' | wc -l)))
		missing=$((missing + $(fold-watch --type order | jq -s '[group_by(.instance_id)[] | [.[].event.type] | select(. != ["Placed", "Confirmed"] and . != ["Placed", "Cancelled"])] | length')))
		missing=$((missing + $(fold-watch --type inventory | jq -s '[.[].event.type] | (20 - (map(select(. == "Reserved" or . == "ReservationFailed")) | length) | fabs) + (15 - (map(select(. == "Reserved")) | length) | fabs)')))
		extra=$((extra + $(fold-pm --name fulfil --subscribe order,inventory --handler saga-go | wc -l)))
	done
	echo "saga: $trials trials, $kills kills, $twice applied twice, $gaps version gaps, $missing missing or doubled outcomes, $extra extra after commit"
	((twice == 0 && gaps == 0 && missing == 0 && extra == 0)) || failed=1
}

[[ ,$only, == *,watch,* ]] && watch_trials
[[ ,$only, == *,saga,* ]] && saga_trials
exit "$failed"
