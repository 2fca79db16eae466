#!/usr/bin/env bash
# Run the IPI suite and the example consumer N times back to back, in one
# boot per kernel, and say how many runs passed. Not part of make test: it
# is the evidence that the suite's verdicts do not depend on luck.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/stability.sh [--runs N] [--progs "P..."] [KERNEL...]

Boots each KERNEL (default: 6.1 debug-7.x; any of
$(kernels_all | paste -sd' ')) once, loads the module and runs the
guest programs P (default: twa-ipi-tests consumer) N times back to back
(default 10); as in make test, the IPI suite gets the kernel's
IPI_ITEMS, fuzz its FUZZ_WRITES, races its UNLOADS, EXIT_CYCLES and
CONCURRENT_ITEMS, faults its FAULT_ITEMS, HOTPLUG_CYCLES and FAULT_FAILS,
twa-bench make test's short bench. Prints one line per run and "KERNEL:
P/N runs passed" (saying so where the emulator crashed the first boot and
qemu-run.sh booted once more); exit status 0 only if every run of every
kernel passed. Per-kernel logs: $TWA_BUILD/KERNEL/runs/stability/.
USAGE
}
runs=10 progs="twa-ipi-tests consumer"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--runs) runs=$2; shift 2 ;;
	--progs) progs=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
case "$runs" in '' | *[!0-9]*) die "--runs takes a number" ;; esac
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 debug-7.x)
for k in "${kernels[@]}"; do (kernel_conf "$k") || exit 1; done

"$TWA_ROOT/scripts/install-deps.sh" || die "cannot install host packages"
rc=0 summary=()
for k in "${kernels[@]}"; do
	kernel_conf "$k"
	log "== $k: $progs, $runs runs in one boot"
	"$TWA_ROOT/scripts/qemu-run.sh" --name stability --timeout $((600 + runs * 400)) \
		--tests repeat --args-for repeat "$runs $progs" --append "TWA_ITEMS=$K_IPI_ITEMS" \
		--args-for fuzz "$K_FUZZ_WRITES" \
		--args-for races "$K_UNLOADS $K_EXIT_CYCLES $K_CONCURRENT_ITEMS" \
		--args-for faults "$K_FAULT_ITEMS $K_HOTPLUG_CYCLES $K_FAULT_FAILS" \
		--args-for twa-bench "--rounds 2 --items 10 --warmup-items 2 --ops 10 --rates 1000,0 --sweep-seconds 0.15 --deadlines 0,1000,none --frontier-rates 1000 --frontier-seconds 0.15" \
		--follow '# repeat run' "$k" || rc=1
	result=$TWA_BUILD/$k/runs/stability/result.txt
	passed=$(grep -c '^# repeat run [0-9]*: pass$' "$result" 2>/dev/null || true)
	# A boot the emulator crashed (qemu-run.sh booted it once more) is
	# said: its runs are the second boot's, and the crash is evidence too.
	again=$TWA_BUILD/$k/runs/stability/rebooted
	summary+=("$k: ${passed:-0}/$runs runs passed$([ -s "$again" ] && echo " (in a second boot: the first ended in $(cat "$again"))")")
	grep -E '^# repeat run [0-9]+: [a-z-]+ failed' -A12 "$result" 2>/dev/null | head -60 >&2
done
for line in "${summary[@]}"; do echo "$line"; done
exit "$rc"
