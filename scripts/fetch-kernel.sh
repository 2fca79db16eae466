#!/usr/bin/env bash
# Fetch a Debian kernel image and its headers into the cache, no root.
#
# A private apt configuration is derived from the mirror this machine's
# own apt sources use, so no registry host is written anywhere here.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/fetch-kernel.sh [--refresh] SERIES...

SERIES is one of: $TWA_SERIES_ALL (or "all").
Resolves the newest ABI of the series from its Debian suite, downloads
linux-image + linux-headers (+ -common, linux-kbuild) with apt-get download
and unpacks them under \$TWA_CACHE/kernels/SERIES/ (now: $TWA_CACHE).
Prints the directory of each series on stdout.

--refresh  re-resolve the newest ABI even if a kernel is cached.
USAGE
}

refresh=0
series=()
for a in "$@"; do
	case "$a" in
	-h | --help) usage; exit 0 ;;
	--refresh) refresh=1 ;;
	all) read -ra series <<<"$TWA_SERIES_ALL" ;;
	-*) usage >&2; exit 2 ;;
	*) series_check "$a"; series+=("$a") ;;
	esac
done
[ ${#series[@]} -gt 0 ] || { usage >&2; exit 2; }

# Suite of each series and the meta package that points at its newest ABI.
series_suite() {
	case "$1" in
	5.10) echo bullseye ;;
	*) echo bookworm ;;
	esac
}
series_meta() {
	case "$1" in
	6.12) echo linux-image-6.12-amd64 ;;
	*) echo linux-image-amd64 ;;
	esac
}

fetch_series() {
	local s=$1 suite conf meta image abi kdir headers hdeps d pkgs
	suite=$(series_suite "$s")
	kdir=$TWA_CACHE/kernels/$s
	if [ "$refresh" = 0 ] && [ -f "$kdir/current/kernel.env" ]; then
		log "$s: cached $(readlink "$kdir/current")"
		echo "$kdir/current"
		return 0
	fi
	need_cmds apt-get:apt dpkg-deb:dpkg
	conf=$(apt_setup "$suite")
	apt_update "$conf" "$suite"
	meta=$(series_meta "$s")
	image=$(pkg_depends "$conf" "$meta" | grep -E '^linux-image-[0-9]' | head -1)
	[ -n "$image" ] || die "$s: cannot resolve $meta in $suite"
	abi=${image#linux-image-}
	headers=linux-headers-$abi
	hdeps=$(pkg_depends "$conf" "$headers" | grep -E '^linux-(headers|kbuild)-')
	d=$kdir/$abi
	if [ -f "$d/kernel.env" ]; then
		log "$s: $abi already cached"
	else
		log "$s: downloading $abi ($image, $headers, $(echo "$hdeps" | tr '\n' ' '))"
		# kernel.env is written last: a directory without it is incomplete.
		rm -rf "$d"
		mkdir -p "$d/debs" "$d/root"
		read -ra pkgs <<<"$image $headers $(echo "$hdeps" | tr '\n' ' ')"
		(cd "$d/debs" && APT_CONFIG=$conf apt-get download -q "${pkgs[@]}" \
			>"$d/download.log" 2>&1) || {
			tail -20 "$d/download.log" >&2
			die "$s: apt-get download failed"
		}
		unpack "$d" "$abi"
		rm -rf "$d/debs"
	fi
	ln -sfn "$abi" "$kdir/current"
	echo "$kdir/current"
}

# Unpack the debs; from the image only /boot is kept (the modules are not
# needed: the guest boots into an initramfs of our own).
unpack() {
	local d=$1 abi=$2 deb hdr common mk
	for deb in "$d"/debs/*.deb; do
		case "$(basename "$deb")" in
		linux-image-*)
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$d/root" ./boot
			;;
		*) dpkg-deb -x "$deb" "$d/root" ;;
		esac
	done
	hdr=$d/root/usr/src/linux-headers-$abi
	[ -d "$hdr" ] || die "headers for $abi not found after unpacking"
	# Debian's arch headers include the -common tree by an absolute
	# /usr/src path, and link scripts/tools absolutely into linux-kbuild:
	# point both at our unpacked copy.
	mk=$hdr/Makefile
	common=$(sed -n 's#^include /usr/src/\(linux-headers-[^/]*\)/Makefile#\1#p' "$mk" | head -1)
	if [ -n "$common" ]; then
		sed -i "s#/usr/src/$common/#$d/root/usr/src/$common/#g" "$mk"
	fi
	fix_links "$d/root" "$d/root/usr/src"
	local vmlinuz
	vmlinuz=$(find "$d/root/boot" -name 'vmlinuz-*' | head -1)
	[ -n "$vmlinuz" ] || die "no vmlinuz in the image package of $abi"
	cat >"$d/kernel.env" <<ENV
KABI=$abi
KRELEASE=${vmlinuz##*/vmlinuz-}
VMLINUZ=$vmlinuz
KDIR=$hdr
KCONFIG=$hdr/.config
ENV
}

# Rewrite absolute symlinks (/usr/...) under DIR to point inside ROOT.
fix_links() {
	local root=$1 dir=$2 l t
	while IFS= read -r -d '' l; do
		t=$(readlink "$l")
		case "$t" in
		/usr/*) ln -sfn "$root$t" "$l" ;;
		esac
	done < <(find "$dir" -type l -print0)
}

for s in "${series[@]}"; do
	fetch_series "$s"
done
