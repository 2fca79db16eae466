#!/usr/bin/env bash
# The main job: boot a Debian kernel in QEMU, load twa-noipi, run the
# scenarios and print what happened.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/run.sh [SERIES|all]   (make run [KERNEL=SERIES|all])

SERIES: $TWA_SERIES_ALL (default $TWA_SERIES_DEFAULT). Installs missing host
packages (as root), fetches the kernel, builds the module, boots it under
QEMU TCG, queues every mode x impl to a spinning and a sleeping task, and
prints a table of counts. Raw output: build/SERIES/runs/run/.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
sel=${1:-$TWA_SERIES_DEFAULT}
if [ "$sel" = all ]; then read -ra series <<<"$TWA_SERIES_ALL"; else series=("$sel"); fi
for s in "${series[@]}"; do series_check "$s"; done

"$TWA_ROOT/scripts/install-deps.sh"
for s in "${series[@]}"; do
	"$TWA_ROOT/scripts/qemu-run.sh" --name run "$s"
	res=$TWA_BUILD/$s/runs/run/result.txt
	echo
	echo "== $(sed -n 's/^# feature release //p' "$res") =="
	sed -n 's/^# feature //p' "$res" | grep -vE '^(release|max_)' | sed 's/^/  /'
	echo
	awk '/^# counts / {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = v["items"] + 0
		printf "%-8s %-14s %-9s %5s %5s %6s %8s %12s %14s\n",
			v["target"], v["mode"], v["impl"], v["items"], v["run"], v["kicks"],
			v["wakeups"], n ? int(v["queue_ns"] / n) : 0, n ? int(v["latency_ns"] / n) : 0
	}' "$res" | { printf "%-8s %-14s %-9s %5s %5s %6s %8s %12s %14s\n" target mode impl items \
		run kicks wakeups queue_ns/item latency_ns/item; cat; }
	echo
	sed -n 's/^# smoke: /checks: /p' "$res"
	echo "(TCG emulation: times are not hardware figures; compare ratios and counts)"
done
