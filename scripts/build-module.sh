#!/usr/bin/env bash
# Build twa_noipi.ko (and the KUnit module where possible) for a cached
# Debian kernel, in a per-kernel copy of the sources under build/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-module.sh SERIES

Builds the module (and, on KUnit kernels, the KUnit suites) for kernel
SERIES ($TWA_SERIES_ALL, kunit-5.10, kunit-6.1, debug-5.10, debug-6.1),
fetching or building the kernel first if needed.
Output: $TWA_BUILD/SERIES/mod/*.ko
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
s=$1
series_check "$s"
need_cmds make:make gcc:gcc

kdir=$(kernel_dir "$s")
# shellcheck disable=SC1091
. "$kdir/kernel.env"
out=$TWA_BUILD/$s/mod
mkdir -p "$out"
# Copy, not symlink: kbuild writes objects beside the sources.
(cd "$TWA_ROOT" && tar -cf - Kbuild module include kunit examples scripts/compat-probe.sh) |
	tar -xf - -C "$out"
# Debian's 5.10 headers ask for gcc-10, which bookworm lacks; the machine's
# gcc builds a module that loads and runs (see shared notes).
log "$s: building module against $KRELEASE"
# shellcheck disable=SC2153 # KDIR comes from kernel.env
if ! make -C "$KDIR" M="$out" CC=gcc -j"$(nproc)" modules >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	die "$s: module build failed (full log: $out/build.log)"
fi
if grep -E 'warning:' "$out/build.log" >&2; then
	die "$s: module build has warnings (full log: $out/build.log)"
fi
# The example consumer links against twa_noipi's exports only.
if ! make -C "$KDIR" M="$out/examples/consumer" CC=gcc \
	KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" modules >"$out/consumer.log" 2>&1; then
	tail -30 "$out/consumer.log" >&2
	die "$s: example consumer build failed (full log: $out/consumer.log)"
fi
if grep -E 'warning:' "$out/consumer.log" >&2; then
	die "$s: example consumer build has warnings"
fi
cp "$out/examples/consumer/twa_consumer.ko" "$out/"
ls "$out"/*.ko >/dev/null
echo "$out"
