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
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
kernel_conf "$1"
[ "$K_SOURCE" = build ] || die "$1: SOURCE=$K_SOURCE, not built from a source package"
pkg=$K_PACKAGE suite=$K_SUITE s=${K_PACKAGE#linux-source-}
need_cmds apt-get:apt dpkg-deb:dpkg xz:xz-utils tar:tar

dir=$TWA_CACHE/src/$s
if [ -f "$dir/.complete" ]; then
	cat "$dir/.complete"
	exit 0
fi
conf=$(apt_setup "$suite")
apt_update "$conf" "$suite"
rm -rf "$dir"
mkdir -p "$dir/deb"
log "$s: downloading $pkg (about 130 MB)"
(cd "$dir/deb" && APT_CONFIG=$conf apt-get download -q "$pkg" \
	>"$dir/download.log" 2>&1) || {
	tail -20 "$dir/download.log" >&2
	die "$s: apt-get download $pkg failed"
}
log "$s: unpacking the kernel tree (about a minute)"
dpkg-deb --fsys-tarfile "$dir"/deb/*.deb |
	tar -x -C "$dir" --wildcards './usr/src/linux-source-*.tar.xz'
tar -xJf "$dir"/usr/src/linux-source-*.tar.xz -C "$dir"
rm -rf "${dir:?}/deb" "${dir:?}/usr"
tree=$(find "$dir" -maxdepth 1 -type d -name 'linux-source-*' | head -1)
[ -f "$tree/Makefile" ] || die "$s: no kernel tree after unpacking"
echo "$tree" >"$dir/.complete"
echo "$tree"
