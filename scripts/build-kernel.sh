#!/usr/bin/env bash
# Build a kernel from a Debian linux-source package: allnoconfig plus the
# kernel's config fragments (KUnit, debug options; Debian's own kernels
# have no CONFIG_KUNIT). Cached by source version and fragments: a second
# run rebuilds nothing.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-kernel.sh KERNEL

KERNEL names a kernels/KERNEL.conf with SOURCE=build. Its PACKAGE (from
scripts/fetch-source.sh), allnoconfig + the CONFIG fragments, built out of
tree under \$TWA_CACHE/built-kernels/ (now: $TWA_CACHE). UNEXPORT names
functions whose EXPORT_SYMBOL line is removed first, in a tree of hard
links to the package's with only the edited files replaced (the shared
tree is never written): a kernel as mainline is, where Debian's patches
export more.
A source of another suite than the host's (bullseye's 5.10, sid's 7.x) is
configured and built in that suite's root (scripts/build-root.sh) with the
gcc-N that suite's gcc depends on; the host's suite builds with its gcc.
ARCH=arm64 cross-builds with Debian's aarch64-linux-gnu-gcc-N of that N.
Prints the build directory (usable as KDIR; holds arch/x86/boot/bzImage or
arch/arm64/boot/Image and a kernel.env like scripts/fetch-kernel.sh writes,
plus CC: the compiler its modules build with). scripts/prepare-kernel.sh
is its one caller in a make test run.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
k=$1
kernel_conf "$k"
[ "$K_SOURCE" = build ] || die "$k: SOURCE=$K_SOURCE, not built from a source package"

tree=$("$TWA_ROOT/scripts/fetch-source.sh" "$k")
frags=()
for f in $K_CONFIG; do
	[ -f "$TWA_ROOT/$f" ] || die "$k: config fragment $f not found"
	frags+=("$TWA_ROOT/$f")
done
case "$K_ARCH" in
arm64) karch=arm64 image=Image ;;
*) karch=x86 image=bzImage ;;
esac
# A source of another suite than the host's builds in that suite's root,
# with the compiler that suite's gcc depends on (gcc-10 in bullseye, gcc-16
# in sid): the compiler its own kernels are built with, and the glibc its
# kbuild tools need. The host's suite builds here, with the host's gcc.
# Another architecture: Debian's cross compiler of the same gcc-N, and the
# native one for the kbuild tools (HOSTCC). What the root holds is asked
# of kernel_root_pkgs (lib.sh), the one place that decides it.
suite=$(kernel_root_suite) cross=$(kernel_cross)
[ -n "$suite" ] || need_cmds gcc:gcc
kcc=$(kernel_compiler)
if [ -n "$suite" ]; then
	pkgs=$(kernel_root_pkgs "$k")
	# shellcheck disable=SC2086 # package names, a word each
	root=$("$TWA_ROOT/scripts/build-root.sh" "$suite" $pkgs)
	run=(in_root "$root" "$TWA_CACHE") what="$kcc, $suite root"
	cc=(CC="$kcc" HOSTCC="${kcc#"$cross"}")
else
	need_cmds make:make flex:flex bison:bison bc:bc perl:perl "$kcc:$(cc_package "$kcc")"
	run=() cc=(CC="$kcc") what="$kcc $(gcc -dumpversion)"
fi
[ -z "$cross" ] || cc+=(CROSS_COMPILE="$cross")
# The key: the source, the fragments, and the compiler's own version line
# (a new gcc-16 in sid rebuilds sid's kernels). UNEXPORT and the root join
# it only where set.
key=$( (basename "$tree"; make -s -C "$tree" kernelversion 2>/dev/null; cat "${frags[@]}"
	[ -z "$K_UNEXPORT" ] || echo "unexport: $K_UNEXPORT"
	[ -z "$suite" ] || echo "root: $suite"
	[ -z "$cross" ] || echo "arch: $K_ARCH"
	"${run[@]}" "$kcc" --version | head -1) | sha256sum | cut -c1-12)

# unexport TREE SYMBOL...: an edited tree of hard links, printed.
unexport() {
	local src=$1 edited=$TWA_CACHE/src/$k-$key sym files f
	shift
	if [ ! -f "$edited/.complete" ]; then
		rm -rf "$edited"
		cp -al "$src" "$edited"
		for sym in "$@"; do
			mapfile -t files < <(grep -rlE --include='*.c' \
				"^EXPORT_SYMBOL(_GPL)?\($sym\);" "$edited")
			[ ${#files[@]} -gt 0 ] || die "$k: no EXPORT_SYMBOL($sym) in $src"
			for f in "${files[@]}"; do
				# A new file, not an edit: the old one is linked to $src.
				sed -E "/^EXPORT_SYMBOL(_GPL)?\($sym\);/d" "$f" >"$f.new"
				mv "$f.new" "$f"
				log "$k: removed the export of $sym from ${f#"$edited"/}"
			done
		done
		touch "$edited/.complete"
	fi
	echo "$edited"
}
if [ -n "$K_UNEXPORT" ]; then
	# shellcheck disable=SC2086 # a list of symbols
	tree=$(unexport "$tree" $K_UNEXPORT)
fi
out=$TWA_CACHE/built-kernels/$k-$key
write_env() {
	cat >"$out/kernel.env" <<ENV
KABI=$k
KRELEASE=$(cat "$out/include/config/kernel.release")
VMLINUZ=$out/arch/$karch/boot/$image
KDIR=$out
KCONFIG=$out/.config
KSRC=$tree
KARCH=$K_ARCH
EXTRA_KO=$out/lib/kunit/kunit.ko
CC=$kcc
ENV
}
if [ -f "$out/.complete" ]; then
	write_env # (a build's env from before CC was one of its keys)
	echo "$out"
	exit 0
fi
mkdir -p "$out"
kmake() { "${run[@]}" make -C "$tree" O="$out" ARCH="$K_ARCH" "${cc[@]}" "$@"; }
log "$k: configuring (allnoconfig + ${frags[*]##*/}; $what)"
# (merge_config.sh -m merges only, no make: it runs here, where the
# fragments are.)
if ! { kmake -s allnoconfig &&
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" &&
	kmake -s olddefconfig; } >"$out/config.log" 2>&1; then
	tail -20 "$out/config.log" >&2
	die "$k: configuring failed (log: $out/config.log)"
fi
# Every requested option must have survived olddefconfig.
dropped=$(cat "${frags[@]}" | grep -E '^CONFIG_' | while IFS= read -r l; do
	grep -qxF "$l" "$out/.config" || echo "$l"
done)
[ -z "$dropped" ] || die "$k: config options dropped by olddefconfig:
$dropped"
log "$k: building the kernel with $(nproc) jobs (a few minutes; log: $out/build.log)"
t0=$SECONDS
# A tree older than its compiler (a host's gcc newer than the source) may
# warn where its own didn't: those warnings are not our business.
if ! kmake -j"$(nproc)" KCFLAGS="-Wno-error" "$image" modules >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	die "$k: kernel build failed (full log: $out/build.log)"
fi
log "$k: kernel built in $((SECONDS - t0))s"
write_env
touch "$out/.complete"
# The builds of this kernel under other keys (an older compiler, a changed
# fragment) are what a new key replaces: 150-350 MB each.
for old in "$TWA_CACHE"/built-kernels/"$k"-* "$TWA_CACHE"/src/"$k"-*; do
	[[ ${old##*/} =~ ^"$k"-[0-9a-f]{12}$ ]] || continue # kunit-6.1-arm64 is not kunit-6.1's
	[ "$old" = "$out" ] || [ "$old" = "$tree" ] || { log "$k: removing $old (an older key)"; rm -rf "$old"; }
done
echo "$out"
