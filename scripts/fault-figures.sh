#!/usr/bin/env bash
# The fault tests' figures per kernel and run (make test's boot, make
# soak's), read from the result files the boots left: a Markdown table or
# JSON lines.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/fault-figures.sh [--json] [--kernels "A B"] [BUILD_DIR]

Reads BUILD_DIR/KERNEL/runs/{tests,soak}/result.txt (default BUILD_DIR:
$TWA_BUILD) and prints one row per kernel and run with what the fault tests
did: allocation failures injected, hotplug cycles, targets held (stopped,
traced, frozen) and killed, items queued, run, refused and lost (queued and
never run: must be 0), and the kmemleak verdict of the boot (debug kernels;
"-" where the kernel has no kmemleak). From make test's boot the faults
program's totals line; from make soak's the sums over its rounds, with its
fuzz writes. A Markdown table, or with --json one JSON object a row.
--kernels: only those kernels' rows (make test names the kernels it ran:
another kernel's files are an earlier run's).
USAGE
}
json=0 only=""
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--json) json=1; shift ;;
	--kernels) only=" $2 "; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
build=${1:-$TWA_BUILD}
[ -d "$build" ] || die "no build directory $build (make test or make soak writes it)"

# kernel run fuzz injected hotplug held killed queued run refused lost kmemleak
rows() {
	local f k run line nums fuzz leak
	for f in "$build"/*/runs/tests/result.txt "$build"/*/runs/soak/result.txt; do
		[ -f "$f" ] || continue
		k=${f#"$build"/} k=${k%%/*}
		[ -z "$only" ] || [[ "$only" == *" $k "* ]] || continue
		run=${f%/result.txt} run=${run##*/}
		if [ "$run" = soak ]; then
			line=$(grep -m1 '^# soak: faults: ' "$f" || true)
			fuzz=$(sed -n 's/^# soak: .* failed; \([0-9]*\) fuzz writes,.*/\1/p' "$f" | head -1)
		else
			line=$(grep -m1 '^# faults: totals: ' "$f" || true)
			fuzz=$(sed -n 's/^# fuzz: \([0-9]*\) writes:.*/\1/p' "$f" | head -1)
		fi
		[ -n "$line" ] || continue
		nums=$(echo "$line" | sed 's/[^0-9 -]/ /g' | tr -s ' ')
		leak=-
		if grep -q '^kmemleak clean' "$f"; then
			leak=0
		elif grep -q 'kmemleak.*suspected\|^kmemleak: ' "$f"; then
			leak=reported
		fi
		# shellcheck disable=SC2086 # eight numbers
		set -- $nums
		# queued run refused lost held killed hotplug injected
		echo "$k $run ${fuzz:--} $8 $7 $5 $6 $1 $2 $3 $4 $leak"
	done
}
data=$(rows)
[ -n "$data" ] || die "no fault totals under $build/*/runs/{tests,soak}/ (a boot of this version's faults program writes them)"
if [ "$json" = 1 ]; then
	echo "$data" | while read -r k run fuzz inj hot held killed q r ref lost leak; do
		printf '{"kernel":"%s","run":"%s","fuzz_writes":%s,"allocation_failures_injected":%s,"hotplug_cycles":%s,"targets_held":%s,"targets_killed":%s,"items_queued":%s,"items_run":%s,"items_refused":%s,"items_lost":%s,"kmemleak":%s}\n' \
			"$k" "$run" "${fuzz/-/null}" "$inj" "$hot" "$held" "$killed" "$q" "$r" "$ref" "$lost" \
			"$(case $leak in 0) echo 0 ;; -) echo null ;; *) echo '"reported"' ;; esac)"
	done
	exit 0
fi
echo "| kernel | run | fuzz writes | allocation failures injected | hotplug cycles | targets held | targets killed | items queued | run | refused | lost | kmemleak reports |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
echo "$data" | while read -r k run fuzz inj hot held killed q r ref lost leak; do
	echo "| $k | $run | $fuzz | $inj | $hot | $held | $killed | $q | $r | $ref | $lost | $leak |"
done
