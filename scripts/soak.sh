#!/usr/bin/env bash
# The soak: fuzz, races and faults for as long as asked, in one boot per
# kernel, with their counts summed. Not part of make test: depth comes
# from here (make test runs each once, sized for its budget).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/soak.sh [--minutes N] [--fuzz-writes N] [KERNEL...]
       (or: make soak KERNELS=... MINUTES=N)

Boots each KERNEL (default: debug-7.x rt-7.x; any of
$(kernels_all | paste -sd' ')) once and runs fuzz, races and faults
in a loop for N minutes (default 10), each with the kernel's own counts
(UNLOADS, EXIT_CYCLES, CONCURRENT_ITEMS, FAULT_ITEMS, HOTPLUG_CYCLES, ten
times FAULT_FAILS) but the fuzzer's: --fuzz-writes a round (default ten
times FUZZ_WRITES: fuzzing is the cheap part of a round, a tenth of the
races' time at make test's count), with a new seed each round. Prints a
line per round and per kernel the totals: rounds, fuzz writes, ENOMEM
writes under failslab (debug kernels), items held by killed targets, and
the fault tests' sums (items queued, run, refused, lost; targets held and
killed; hotplug cycles; allocation failures injected). The boot's kernel
checks (panic_on_warn, KASAN, lockdep; kmemleak scanned after rmmod) judge
it too. Exit status 0 only if every round of every kernel passed. Logs:
$TWA_BUILD/KERNEL/runs/soak/.
USAGE
}
minutes=10 fuzz_writes=""
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--minutes) minutes=${2:-}; shift 2 ;;
	--fuzz-writes) fuzz_writes=${2:-}; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
case "$minutes" in '' | *[!0-9]* | 0) die "--minutes takes a number above 0" ;; esac
case "$fuzz_writes" in *[!0-9]*) die "--fuzz-writes takes a number" ;; esac
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(debug-7.x rt-7.x)
for k in "${kernels[@]}"; do (kernel_conf "$k") || exit 1; done

"$TWA_ROOT/scripts/install-deps.sh" || die "cannot install host packages"
"$TWA_ROOT/scripts/prepare-kernel.sh" "${kernels[@]}" || die "cannot prepare the kernels"
rc=0 summary=()
for k in "${kernels[@]}"; do
	kernel_conf "$k"
	log "== $k: fuzz, races, faults for $minutes min in one boot"
	# Each guest program gets half the boot's limit: the soak's rounds and
	# the last round's overrun (a debug kernel's round is minutes).
	"$TWA_ROOT/scripts/qemu-run.sh" --name soak --timeout $((2 * (minutes * 60 + 900))) \
		--tests soak --args-for soak "$minutes" \
		--args-for fuzz "${fuzz_writes:-$((K_FUZZ_WRITES * 10))}" \
		--args-for races "$K_UNLOADS $K_EXIT_CYCLES $K_CONCURRENT_ITEMS" \
		--args-for faults "$K_FAULT_ITEMS $K_HOTPLUG_CYCLES $((K_FAULT_FAILS * 10))" \
		--follow '# soak round' "$k" || rc=1
	result=$TWA_BUILD/$k/runs/soak/result.txt
	totals=$(grep '^# soak: ' "$result" 2>/dev/null | sed 's/^# soak: //' | paste -sd';' -)
	summary+=("$k: ${totals:-no totals (the boot did not finish)}")
done
for line in "${summary[@]}"; do echo "$line"; done
exit "$rc"
