#!/usr/bin/env bash
# Build twa_noipi.ko, the example consumer and (on KUnit kernels) the KUnit
# suites for one kernel, in a per-kernel copy of the sources under build/.
# Up to date when neither the sources nor the kernel changed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-module.sh KERNEL

Builds the module (and, on KUnit kernels, the KUnit suites) for KERNEL
(any of: $(kernels_all | paste -sd' ')), fetching or building the kernel
first if needed (scripts/prepare-kernel.sh, once a run). Output: $TWA_BUILD/KERNEL/mod/*.ko
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
k=$1
need_cmds make:make

manifest_load "$k"
kernel_conf "$k"
out=$TWA_BUILD/$k/mod
# As the manifest says (scripts/prepare-kernel.sh decides it once): a
# kernel of another suite builds in that suite's root with the compiler its
# headers name; the host's suite builds here. Another architecture's
# (arm64) is cross-built: CC is the cross compiler (aarch64-linux-gnu-gcc-12).
if [ -n "$M_ROOT" ]; then
	run=(in_root "$M_ROOT" "$M_KDIR") mkdir=$(root_kdir "$M_KDIR") what="$M_CC, $M_ROOT_SUITE root"
else
	need_cmds "$M_CC:$(cc_package "$M_CC")"
	run=() mkdir=$M_KDIR what=$M_CC
fi
cc=(CC="$M_CC")
[ -z "$M_CROSS" ] || cc+=(ARCH="$K_ARCH" CROSS_COMPILE="$M_CROSS")
# shellcheck disable=SC2086 # a list of paths
read -ra srcs < <(src_files $TWA_MODULE_SRC | paste -sd' ')
key=$(inputs_key "${srcs[@]}" "$(grep -v '^RUN=' "$(manifest_file "$k")")")
if up_to_date "$out/.key" "$key"; then
	echo "$out"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
# Built before from the same sources for the same kernel (another clone).
if artefact_get "modules-$k" "$key" "$out"; then
	log "$k: the module, as built before from these sources (the cache's)"
	echo "$key" >"$out/.key"
	echo "$out"
	exit 0
fi
# Copy, not symlink: kbuild writes objects beside the sources.
# shellcheck disable=SC2086
(cd "$TWA_ROOT" && tar -cf - $TWA_MODULE_SRC) | tar -xf - -C "$out"
log "$k: building the module against $M_KRELEASE ($what)"
if ! "${run[@]}" make -C "$mkdir" M="$out" "${cc[@]}" -j"$(nproc)" modules \
	>"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	die "$k: module build failed (full log: $out/build.log)"
fi
if grep -E 'warning:' "$out/build.log" >&2; then
	die "$k: module build has warnings (full log: $out/build.log)"
fi
# The example consumer: upstream code built through include/shim/, which
# links it against twa_noipi's exports where the kernel lacks something.
if ! "${run[@]}" make -C "$mkdir" M="$out/examples/consumer" "${cc[@]}" \
	KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" modules >"$out/consumer.log" 2>&1; then
	tail -30 "$out/consumer.log" >&2
	die "$k: example consumer build failed (full log: $out/consumer.log)"
fi
if grep -E 'warning:' "$out/consumer.log" >&2; then
	die "$k: example consumer build has warnings"
fi
cp "$out/examples/consumer/twa_consumer.ko" "$out/"
# Built through the shim: its depends must be what the kernel's case says.
"$TWA_ROOT/scripts/consumer-case.sh" --ko "$out/twa_consumer.ko" "${M_KSRC:-$M_KDIR}" "$M_KDIR" \
	>"$out/consumer.case" || die "$k: example consumer depends on the wrong modules"
log "$k: example consumer: $(cat "$out/consumer.case")"
ls "$out"/*.ko >/dev/null
artefact_put "modules-$k" "$key" "$out"/*.ko "$out/Module.symvers" "$out"/*.log
echo "$key" >"$out/.key"
echo "$out"
