#!/usr/bin/env bash
# Capture host-test fixtures from a real guest of a kernel.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/capture-fixtures.sh KERNEL [NAME]

Boots KERNEL (any of: $(kernels_all | paste -sd' ')) with the module,
runs the guest program capture (userspace-tests/tests/guest/capture.cpp)
and writes what it captured where the host tests read their fixtures:
  userspace-tests/fixtures/interrupts/NAME-2cpu.txt   /proc/interrupts
  userspace-tests/fixtures/debugfs/NAME/              features, stats,
                                                      items, ipis, ipi_senders
NAME defaults to KERNEL. Review the diff before committing: a fixture a
test names changes what that test checks.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage >&2; exit 2; fi
k=$1 name=${2:-$1}
"$TWA_ROOT/scripts/qemu-run.sh" --name fixtures --tests capture "$k"
got=$TWA_BUILD/$k/runs/fixtures/files/capture
fx=$TWA_ROOT/userspace-tests/fixtures
[ -s "$got/interrupts.txt" ] || die "$k: nothing captured (see $TWA_BUILD/$k/runs/fixtures/console.log)"
cp "$got/interrupts.txt" "$fx/interrupts/$name-2cpu.txt"
mkdir -p "$fx/debugfs/$name"
for f in "$got"/debugfs-*; do cp "$f" "$fx/debugfs/$name/${f##*/debugfs-}"; done
log "fixtures of $k written: interrupts/$name-2cpu.txt, debugfs/$name/"
