#!/usr/bin/env bash
# The main job: boot a Debian kernel in QEMU, load twa-noipi, run the
# benchmark and print the IPI report (table, JSON, SVG plots).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/run.sh [--items N] [--ops N] [KERNEL...|all]
       (make run [KERNEL=NAME|SUITE:PACKAGE|all] [ITEMS=N] [OPS=N])

KERNEL: any of $(kernels_all | paste -sd' ') (default $TWA_KERNEL_DEFAULT),
or any Debian kernel as SUITE:PACKAGE (bookworm:linux-image-rt-amd64): the
newest ABI that PACKAGE depends on in SUITE, with no file to write.
Installs missing host packages (as root), fetches the kernel, builds the
module and the benchmark, boots the kernel under QEMU TCG with 2 vCPUs and
runs twa-bench: every mode x impl to a task spinning on CPU 1 and to one
asleep there, one item in flight, N items each (--items, default 1000), with
the time the spinner loses to interruptions (osnoise-style, beyond a
baseline measured with nothing queued); a rate sweep (signal and
signal_no_ipi offered to the spinner at 100, 1000, 10000, 100000 items/s and
back to back, a second each); the io_uring ring setups, N completions each
(--ops, default 1000); where the kernel's config has CONFIG_NO_HZ_FULL=y a
second boot with nohz_full=1 for a spinner on a tick-less CPU 1. Writes
results/<kernel-release>/report.{json,md}, ipis.svg, latency.svg (CDF) and
sweep.svg; with several kernels, also results/comparison.{md,json}.

Environment: TWA_KVM=1 to use KVM where nested KVM works (never the
default), TWA_RESULTS (default: results/).
USAGE
}
items=1000 ops=1000 names=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--items) items=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) names+=("$1"); shift ;;
	esac
done
case "$items$ops" in '' | *[!0-9]*) die "--items and --ops take numbers" ;; esac
[ ${#names[@]} -gt 0 ] || names=("$TWA_KERNEL_DEFAULT")
kernels=()
while read -r k; do kernels+=("$k"); done < <(kernels_select "${names[@]}")
[ ${#kernels[@]} -gt 0 ] || exit 1
results=${TWA_RESULTS:-$TWA_ROOT/results}
accel=tcg kvm=()
if [ "${TWA_KVM:-0}" = 1 ]; then accel=kvm kvm=(--kvm); fi

"$TWA_ROOT/scripts/install-deps.sh"
need_cmds python3:python3 gnuplot:gnuplot-nox
reports=()
for s in "${kernels[@]}"; do
	log "== $s: benchmark, $items items per scenario, $ops io_uring ops per setup"
	"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name bench --tests twa-bench \
		--args "--items $items --ops $ops" --follow 'twa-bench:' --timeout 3600 "$s"
	files=("$TWA_BUILD/$s/runs/bench/files/twa-bench/bench.jsonl")
	if has_offer "$(manifest_key "$s" OFFERS)" nohz_full; then
		log "== $s: nohz_full=1 boot: a spinner on a tick-less CPU 1"
		"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name bench-nohz --tests twa-bench \
			--append nohz_full=1 --args "--targets nohz --no-uring --no-sweep --items $items" \
			--follow 'twa-bench:' --timeout 3600 "$s"
		files+=("$TWA_BUILD/$s/runs/bench-nohz/files/twa-bench/bench.jsonl")
	fi
	python3 "$TWA_ROOT/scripts/report.py" --out "$results" --accel "$accel" "${files[@]}"
	release=$(sed -n 's/^{"kind":"env","kernel":"\([^"]*\)".*/\1/p' "${files[0]}" | head -1)
	reports+=("$results/$release/report.json")
done
if [ ${#kernels[@]} -gt 1 ]; then
	python3 "$TWA_ROOT/scripts/report.py" --combine --out "$results" "${reports[@]}"
fi
