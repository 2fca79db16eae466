#!/usr/bin/env bash
# Fetch Debian's linux-source-SERIES package into the cache and unpack the
# kernel tree (for checkpatch.pl, and for building KUnit kernels). No root.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/fetch-source.sh KERNEL

KERNEL names a kernels/KERNEL.conf with SOURCE=build: its PACKAGE (a
linux-source-X package) is downloaded from its SUITE with apt-get download
and unpacked under \$TWA_CACHE/src/X/ (now: $TWA_CACHE). Prints the source
tree's path. Cached: a second call downloads nothing.

PACKAGE=linux-source (the meta package) means the suite's newest
linux-source-X, resolved on the first fetch and remembered in
\$TWA_CACHE/src/SUITE-newest; --refresh resolves it again.
USAGE
}
refresh=0
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--refresh) refresh=1; shift ;;
esac
[ $# = 1 ] || { usage >&2; exit 2; }
kernel_conf "$1"
[ "$K_SOURCE" = build ] || die "$1: SOURCE=$K_SOURCE, not built from a source package"
pkg=$K_PACKAGE suite=$K_SUITE
need_cmds apt-get:apt dpkg-deb:dpkg xz:xz-utils tar:tar

newest=
if [ "$pkg" = linux-source ]; then
	newest=$TWA_CACHE/src/$suite-newest
	if [ "$refresh" = 0 ] && [ -f "$newest" ] && [ -f "$(cat "$newest")/Makefile" ]; then
		cat "$newest"
		exit 0
	fi
	conf=$(apt_setup "$suite")
	apt_update "$conf" "$suite"
	pkg=$(pkg_depends "$conf" linux-source | grep -E '^linux-source-[0-9]' | head -1 || true)
	[ -n "$pkg" ] || die "$1: $suite has no linux-source depending on a linux-source-X"
	log "$1: $suite's newest source is $pkg"
fi
s=${pkg#linux-source-}
dir=$TWA_CACHE/src/$s
if [ -f "$dir/.complete" ]; then
	[ -z "$newest" ] || cp "$dir/.complete" "$newest"
	cat "$dir/.complete"
	exit 0
fi
conf=$(apt_setup "$suite")
apt_update "$conf" "$suite"
rm -rf "$dir"
log "$s: downloading $pkg (about 130 MB)"
apt_download "$conf" "$dir/deb" "$pkg"
log "$s: unpacking the kernel tree (about a minute)"
dpkg-deb --fsys-tarfile "$dir"/deb/*.deb |
	tar -x -C "$dir" --wildcards './usr/src/linux-source-*.tar.xz'
tar -xJf "$dir"/usr/src/linux-source-*.tar.xz -C "$dir"
rm -rf "${dir:?}/deb" "${dir:?}/usr"
tree=$(find "$dir" -maxdepth 1 -type d -name 'linux-source-*' | head -1)
[ -f "$tree/Makefile" ] || die "$s: no kernel tree after unpacking"
echo "$tree" >"$dir/.complete"
[ -z "$newest" ] || cp "$dir/.complete" "$newest"
echo "$tree"
