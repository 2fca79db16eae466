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
Usage: scripts/fetch-kernel.sh [--refresh] KERNEL...

KERNEL names a kernels/KERNEL.conf with SOURCE=debian (now: $(
		for k in $(kernels_all); do
			(kernel_conf "$k" && [ "$K_SOURCE" = debian ] && printf '%s ' "$k")
		done
	)).
Resolves the newest ABI from the kernel's Debian SUITE through the
dependencies of its PACKAGE, downloads linux-image (+ linux-binary, 7.x) + linux-headers
(+ -common, linux-kbuild) with apt-get download and unpacks them under
\$TWA_CACHE/kernels/KERNEL/ (now: $TWA_CACHE). Prints the directory of each.

--refresh  re-resolve the newest ABI even if a kernel is cached.
USAGE
}

refresh=0
names=()
for a in "$@"; do
	case "$a" in
	-h | --help) usage; exit 0 ;;
	--refresh) refresh=1 ;;
	-*) usage >&2; exit 2 ;;
	*) names+=("$a") ;;
	esac
done
[ ${#names[@]} -gt 0 ] || { usage >&2; exit 2; }

fetch_kernel() {
	local k=$1 conf image abi arch
	kernel_conf "$k"
	[ "$K_SOURCE" = debian ] || die "$k: SOURCE=$K_SOURCE, not a Debian kernel"
	kdir=$TWA_CACHE/kernels/$k
	if [ "$refresh" = 0 ] && [ -f "$kdir/current/kernel.env" ]; then
		echo "$kdir/current"
		return 0
	fi
	need_cmds apt-get:apt dpkg-deb:dpkg
	arch=$(kernel_debarch)
	conf=$(apt_setup "$K_SUITE" "$arch")
	apt_update "$conf" "$K_SUITE"
	local images tried=""
	images=$(pkg_images "$conf" "$K_PACKAGE")
	[ -n "$images" ] || die "$k: $K_SUITE has no package $K_PACKAGE depending on a linux-image-ABI (tried: apt-cache show $K_PACKAGE in $K_SUITE)"
	for image in $images; do
		abi=${image#linux-image-}
		if [ -f "$kdir/$abi/kernel.env" ]; then
			log "$k: $abi already cached"
			break
		fi
		fetch_abi "$k" "$conf" "$image" && break
		tried+=" $abi"
		log "$k: $abi is listed in $K_SUITE but does not download (log: $kdir/download.log); trying the one before it"
		abi=""
	done
	[ -n "$abi" ] || die "$k: no $K_PACKAGE kernel of $K_SUITE downloads from this mirror (tried:$tried)"
	ln -sfn "$abi" "$kdir/current"
	echo "$kdir/current"
}

# fetch_abi KERNEL CONF IMAGE: download linux-image-ABI, its headers and
# kbuild into $kdir/ABI and unpack them; fails (nothing left behind) if
# the mirror does not have them all.
fetch_abi() {
	local k=$1 conf=$2 image=$3 abi binary headers hdeps d pkgs
	abi=${image#linux-image-}
	# From 7.x, linux-image-ABI is a meta package: the kernel itself is in
	# linux-binary-ABI (/usr/lib/modules/ABI/vmlinuz).
	binary=$(pkg_depends "$conf" "$image" | grep -Fx "linux-binary-$abi" || true)
	headers=linux-headers-$abi
	# linux-kbuild holds the tools a module build runs: the host's (amd64)
	# build, whatever the kernel's architecture (Debian's cross-build
	# layout: arm64 headers, amd64 kbuild of the same version).
	hdeps=$(pkg_depends "$conf" "$headers" | grep -E '^linux-(headers|kbuild)-' |
		sed -E 's/^(linux-kbuild-.*)$/\1:amd64/')
	d=$kdir/$abi
	log "$k: downloading $abi ($image ${binary:+$binary }$headers $(echo "$hdeps" | tr '\n' ' '))"
	# kernel.env is written last: a directory without it is incomplete.
	rm -rf "$d"
	mkdir -p "$d/root"
	read -ra pkgs <<<"$image $binary $headers $(echo "$hdeps" | tr '\n' ' ')"
	if ! apt_try_download "$conf" "$d/debs" "${pkgs[@]}"; then
		mv "$d/download.log" "$kdir/download.log"
		rm -rf "$d"
		return 1
	fi
	unpack "$d" "$abi"
	rm -rf "$d/debs"
}

# Unpack the debs; from the image all but the modules is kept (they are
# not needed: the guest boots into an initramfs of our own).
unpack() {
	local d=$1 abi=$2 deb hdr common mk ksrc
	for deb in "$d"/debs/*.deb; do
		case "$(basename "$deb")" in
		linux-image-* | linux-binary-*)
			dpkg-deb --fsys-tarfile "$deb" |
				tar -x -C "$d/root" --exclude='*.ko' --exclude='*.ko.*'
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
	# The generic headers (include/linux/...) live in -common.
	ksrc=$d/root/usr/src/${common:-linux-headers-$abi}
	fix_links "$d/root" "$d/root/usr/src"
	# /boot/vmlinuz-RELEASE up to 6.x, /usr/lib/modules/RELEASE/vmlinuz from 7.x.
	local vmlinuz release
	vmlinuz=$(find "$d/root/boot" "$d/root/usr/lib/modules" -type f \
		\( -name 'vmlinuz-*' -o -name vmlinuz \) 2>/dev/null | head -1 || true)
	[ -n "$vmlinuz" ] || die "no vmlinuz in the image packages of $abi"
	case "$vmlinuz" in
	*/vmlinuz-*) release=${vmlinuz##*/vmlinuz-} ;;
	*) release=$(basename "$(dirname "$vmlinuz")") ;;
	esac
	cat >"$d/kernel.env" <<ENV
KABI=$abi
KRELEASE=$release
VMLINUZ=$vmlinuz
KDIR=$hdr
KCONFIG=$hdr/.config
KSRC=$ksrc
KARCH=$K_ARCH
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

for k in "${names[@]}"; do
	fetch_kernel "$k"
done
