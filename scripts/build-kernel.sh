#!/usr/bin/env bash
# Build a small KUnit-enabled x86_64 kernel from Debian's linux-source
# package (Debian's own kernels have no CONFIG_KUNIT). Cached by source
# version and config fragment: a second run rebuilds nothing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-kunit-kernel.sh [--flavour kunit|debug] SERIES

SERIES: 5.10 or 6.1. allnoconfig + kunit/kunit.config (+ kunit/debug.config
for the debug flavour), built out of tree under \$TWA_CACHE/kunit-kernels/.
Prints the build directory (usable as KDIR; holds arch/x86/boot/bzImage and
a kernel.env like scripts/fetch-kernel.sh writes).
USAGE
}
flavour=kunit
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--flavour) flavour=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
s=$1
case "$flavour" in kunit | debug) ;; *) die "unknown flavour '$flavour'" ;; esac
need_cmds make:make gcc:gcc flex:flex bison:bison bc:bc perl:perl

tree=$("$TWA_ROOT/scripts/fetch-source.sh" "$s")
frags=("$TWA_ROOT/kunit/kunit.config")
[ "$flavour" = debug ] && frags+=("$TWA_ROOT/kunit/debug.config")
key=$( (basename "$tree"; make -s -C "$tree" kernelversion 2>/dev/null; cat "${frags[@]}") |
	sha256sum | cut -c1-12)
out=$TWA_CACHE/kunit-kernels/$s-$flavour-$key
write_env() {
	cat >"$out/kernel.env" <<ENV
KABI=$flavour-$s
KRELEASE=$(cat "$out/include/config/kernel.release")
VMLINUZ=$out/arch/x86/boot/bzImage
KDIR=$out
KCONFIG=$out/.config
KSRC=$tree
EXTRA_KO=$out/lib/kunit/kunit.ko
ENV
}
if [ -f "$out/.complete" ]; then
	log "$s: $flavour kernel cached ($out)"
	[ -f "$out/kernel.env" ] || write_env
	echo "$out"
	exit 0
fi
mkdir -p "$out"
log "$s: configuring $flavour kernel (allnoconfig + ${frags[*]##*/})"
make -s -C "$tree" O="$out" ARCH=x86_64 allnoconfig >"$out/config.log" 2>&1
"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" \
	>>"$out/config.log" 2>&1
make -s -C "$tree" O="$out" ARCH=x86_64 olddefconfig >>"$out/config.log" 2>&1
# Every requested option must have survived olddefconfig.
dropped=$(cat "${frags[@]}" | grep -E '^CONFIG_' | while IFS= read -r l; do
	grep -qxF "$l" "$out/.config" || echo "$l"
done)
[ -z "$dropped" ] || die "$s: config options dropped by olddefconfig:
$dropped"
log "$s: building $flavour kernel with $(nproc) jobs (a few minutes; log: $out/build.log)"
t0=$SECONDS
# Debian's 5.10 tree predates gcc 12; its new warnings are not our business.
if ! make -C "$tree" O="$out" ARCH=x86_64 -j"$(nproc)" KCFLAGS="-Wno-error" \
	bzImage modules >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	die "$s: kernel build failed (full log: $out/build.log)"
fi
log "$s: $flavour kernel built in $((SECONDS - t0))s"
write_env
touch "$out/.complete"
echo "$out"
