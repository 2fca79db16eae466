#!/usr/bin/env bash
# Fetch Debian's linux-source-SERIES package into the cache and unpack the
# kernel tree (for checkpatch.pl, and for building KUnit kernels). No root.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/fetch-source.sh SERIES

SERIES: 5.10 (bullseye) or 6.1 (bookworm). Downloads linux-source-SERIES with
apt-get download and unpacks it under \$TWA_CACHE/src/ (now: $TWA_CACHE).
Prints the source tree's path. Cached: a second call downloads nothing.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
s=$1
case "$s" in
5.10) suite=bullseye ;;
6.1) suite=bookworm ;;
*) die "no linux-source package for '$s' (known: 5.10, 6.1)" ;;
esac
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
log "$s: downloading linux-source-$s (about 130 MB)"
(cd "$dir/deb" && APT_CONFIG=$conf apt-get download -q "linux-source-$s" \
	>"$dir/download.log" 2>&1) || {
	tail -20 "$dir/download.log" >&2
	die "$s: apt-get download linux-source-$s failed"
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
