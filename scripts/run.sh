#!/usr/bin/env bash
# The main job: boot a Debian kernel in QEMU, load twa-noipi, run the
# benchmark and print the IPI report (table, JSON, SVG plots).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/run.sh [SERIES|all]   (make run [KERNEL=SERIES|all] [ITEMS=N] [OPS=N])

SERIES: $TWA_SERIES_ALL (default $TWA_SERIES_DEFAULT). Installs missing host
packages (as root), fetches the kernel, builds the module and the benchmark,
boots the kernel under QEMU TCG with 2 vCPUs and runs twa-bench: every mode x
impl to a task spinning on CPU 1 and to one asleep there, one item in flight,
ITEMS items each (default 1000); the io_uring ring setups, OPS completions each
(default 1000); on 6.1 and 6.12 a second boot with nohz_full=1 for a spinner on
a tick-less CPU 1. Writes results/<kernel-release>/report.{json,md},
ipis.svg and latency.svg; with "all", also results/comparison.{md,json}.

Environment: TWA_ITEMS, TWA_OPS (as ITEMS/OPS), TWA_KVM=1 to use KVM where
nested KVM works (never the default), TWA_RESULTS (default: results/).
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
sel=${1:-$TWA_SERIES_DEFAULT}
if [ "$sel" = all ]; then read -ra series <<<"$TWA_SERIES_ALL"; else series=("$sel"); fi
for s in "${series[@]}"; do series_check "$s"; done
items=${TWA_ITEMS:-1000}
ops=${TWA_OPS:-1000}
results=${TWA_RESULTS:-$TWA_ROOT/results}
accel=tcg kvm=()
if [ "${TWA_KVM:-0}" = 1 ]; then accel=kvm kvm=(--kvm); fi
case "$items$ops" in *[!0-9]*) die "ITEMS and OPS must be numbers" ;; esac

"$TWA_ROOT/scripts/install-deps.sh"
need_cmds python3:python3 gnuplot:gnuplot-nox
reports=()
for s in "${series[@]}"; do
	log "== $s: benchmark, $items items per scenario, $ops io_uring ops per setup"
	"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name bench --tests twa-bench \
		--args "--items $items --ops $ops" --follow 'twa-bench:' --timeout 3600 "$s"
	files=("$TWA_BUILD/$s/runs/bench/result.txt")
	if [ "$s" != 5.10 ]; then
		log "== $s: nohz_full=1 boot: a spinner on a tick-less CPU 1"
		"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name bench-nohz --tests twa-bench \
			--append nohz_full=1 --args "--targets nohz --no-uring --items $items" \
			--follow 'twa-bench:' --timeout 3600 "$s"
		files+=("$TWA_BUILD/$s/runs/bench-nohz/result.txt")
	fi
	python3 "$TWA_ROOT/scripts/report.py" --out "$results" --accel "$accel" "${files[@]}"
	release=$(sed -n 's/^BENCH {"kind":"env","kernel":"\([^"]*\)".*/\1/p' "${files[0]}" | head -1)
	reports+=("$results/$release/report.json")
done
if [ ${#series[@]} -gt 1 ]; then
	python3 "$TWA_ROOT/scripts/report.py" --combine --out "$results" "${reports[@]}"
fi
