#!/usr/bin/env bash
# The main job: boot a Debian kernel in QEMU, load twa-noipi, run the
# benchmark and print the IPI report (table, JSON, SVG plots).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/run.sh [--items N] [--ops N] [--rounds R] [--boots B] [KERNEL...|all]
       (make run [KERNEL=NAME|SUITE:PACKAGE|all] [ITEMS=N] [OPS=N] [ROUNDS=R] [BOOTS=B])

KERNEL: any of $(kernels_all | paste -sd' ') (default $TWA_KERNEL_DEFAULT),
or any Debian kernel as SUITE:PACKAGE (bookworm:linux-image-rt-amd64): the
newest ABI that PACKAGE depends on in SUITE, with no file to write.
Installs missing host packages (as root), fetches the kernel, builds the
module and the benchmark, boots the kernel under QEMU TCG with 2 vCPUs B
times (--boots, default 4) and runs twa-bench in each in R rounds (--rounds,
default 5; modes and impls interleaved in each round, baseline windows in
each, a short warm-up round dropped; the frontier in about 6 rounds over
all boots): every mode x impl to a task spinning on CPU 1 and to one asleep
there, one item in flight, N items each a round (--items, default 100), with
the time the spinner loses to interruptions (osnoise-style, beyond a
baseline measured with nothing queued); a rate sweep (signal and
signal_no_ipi offered to the spinner at 100, 1000, 10000, 100000 items/s and
back to back, a quarter of a second each a round); the io_uring ring
setups, N completions each a round (--ops, default 100); where the kernel's
config has
CONFIG_NO_HZ_FULL=y a second boot with nohz_full=1 for a spinner on a
tick-less CPU 1. Every figure is the median of the rounds of all boots with
its interval: under TCG some figures differ more between boots than between
rounds (signal_no_ipi's p99 on 6.1: 7.2 ms in each round of one boot, 4.6
ms in the next), and an interval over one boot's rounds hides that.
Writes results/<kernel-release>/report.{json,md}, ipis.svg, latency.svg (CDF),
sweep.svg, the raw bench*.jsonl and machine.json (QEMU, accelerator, vCPUs,
host CPU, this command); with several kernels, also
results/comparison.{md,json}.

Environment: TWA_KVM=1 to use KVM where nested KVM works (never the
default), TWA_RESULTS (default: results/).
USAGE
}
items=100 ops=100 rounds=5 boots=4 names=()
cmdline="scripts/run.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--items) items=$2; shift 2 ;;
	--ops) ops=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--boots) boots=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) names+=("$1"); shift ;;
	esac
done
case "$items$ops$rounds$boots" in '' | *[!0-9]*) die "--items, --ops, --rounds and --boots take numbers" ;; esac
[ "$boots" -ge 1 ] || die "--boots takes a number above 0"
[ ${#names[@]} -gt 0 ] || names=("$TWA_KERNEL_DEFAULT")
kernels=()
# "all" benches every kernel that boots our guest; a target that only
# tests a user's install (TESTS=install) is benched when named.
while read -r k; do
	if [ "${names[*]}" = all ] && (kernel_conf "$k" && [ "$K_TESTS" = install ]); then
		continue
	fi
	kernels+=("$k")
done < <(kernels_select "${names[@]}")
[ ${#kernels[@]} -gt 0 ] || exit 1
results=${TWA_RESULTS:-$TWA_ROOT/results}
accel=tcg kvm=()
if [ "${TWA_KVM:-0}" = 1 ]; then accel=kvm kvm=(--kvm); fi

"$TWA_ROOT/scripts/install-deps.sh"
need_cmds python3:python3 gnuplot:gnuplot-nox
# Where it ran: report.json's machine section.
machine_json() {
	local qemu cpu
	qemu=$(qemu-system-x86_64 --version 2>/dev/null | head -1)
	[ "$(manifest_key "$1" ARCH 2>/dev/null)" = arm64 ] &&
		qemu=$(qemu-system-aarch64 --version 2>/dev/null | head -1)
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	python3 -c 'import json, sys; print(json.dumps(dict(zip(
		["qemu", "accel", "vcpus", "memory", "host_cpu_model", "host_cpus", "host_kernel",
		 "command", "items_per_round", "ops_per_round", "rounds", "host_load_before",
		 "host_load_after"],
		[sys.argv[1], sys.argv[2], int(sys.argv[3]), "1G", sys.argv[4], int(sys.argv[5]),
		 sys.argv[6], sys.argv[7], int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10]),
		 sys.argv[11], sys.argv[12]]))))' \
		"$qemu" "$accel_name" 2 "$cpu" "$(nproc)" "$(uname -sr)" "$cmdline" \
		"$items" "$ops" "$rounds" "$2" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
accel_name="tcg,thread=multi"
[ "$accel" = kvm ] && accel_name=kvm
reports=()
# The frontier (18 points, about 10 s a round) in about 6 rounds over all
# boots, at least one in each.
frontier_rounds=$(((6 + boots - 1) / boots))
[ "$frontier_rounds" -le "$rounds" ] || frontier_rounds=$rounds
bench_args="--items $items --ops $ops --rounds $rounds --sweep-seconds 0.25 --baseline-seconds 0.3 --frontier-rounds $frontier_rounds"
for s in "${kernels[@]}"; do
	# The host's load average (1, 5, 15 min) before and after: under TCG
	# what else the host runs decides what the vCPUs get.
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	files=()
	for b in $(seq 1 "$boots"); do
		name=bench
		[ "$b" = 1 ] || name=bench-$b
		log "== $s: benchmark, boot $b of $boots: $rounds rounds of $items items per scenario, $ops io_uring ops per setup"
		"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name "$name" --tests twa-bench \
			--args "$bench_args" --follow 'twa-bench:' --timeout 3600 "$s"
		files+=("$TWA_BUILD/$s/runs/$name/files/twa-bench/bench.jsonl")
	done
	if has_offer "$(manifest_key "$s" OFFERS)" nohz_full; then
		log "== $s: nohz_full=1 boot: a spinner on a tick-less CPU 1"
		"$TWA_ROOT/scripts/qemu-run.sh" "${kvm[@]}" --name bench-nohz --tests twa-bench \
			--append nohz_full=1 --args "--targets nohz --no-uring --no-sweep --items $items --rounds $rounds --baseline-seconds 0.3" \
			--follow 'twa-bench:' --timeout 3600 "$s"
		files+=("$TWA_BUILD/$s/runs/bench-nohz/files/twa-bench/bench.jsonl")
	fi
	machine_json "$s" "$load_before" >"$TWA_BUILD/$s/runs/bench/machine.json"
	python3 "$TWA_ROOT/scripts/report.py" --out "$results" --accel "$accel" \
		--machine "$TWA_BUILD/$s/runs/bench/machine.json" "${files[@]}"
	release=$(sed -n 's/^{"kind":"env","kernel":"\([^"]*\)".*/\1/p' "${files[0]}" | head -1)
	reports+=("$results/$release/report.json")
done
if [ ${#kernels[@]} -gt 1 ]; then
	python3 "$TWA_ROOT/scripts/report.py" --combine --out "$results" "${reports[@]}"
fi
