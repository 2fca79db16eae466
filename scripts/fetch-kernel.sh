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

# Print "main-uri security-uri" from the machine's apt sources
# (deb822 .sources files and one-line .list files alike).
mirror_uris() {
	local files=() f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 1
	awk '
	function emit(u, s,   n, i, a) {
		n = split(s, a, /[ \t]+/)
		for (i = 1; i <= n; i++) if (a[i] != "") print u, a[i]
	}
	/^[ \t]*#/ { next }
	/^deb[ \t]/ {
		sub(/\[[^]]*\][ \t]*/, "")
		print $2, $3; next
	}
	/^URIs:/ { uri = $2 }
	/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
	/^[ \t]*$/ { if (uri != "" && suites != "") emit(uri, suites); uri = ""; suites = "" }
	END { if (uri != "" && suites != "") emit(uri, suites) }
	' "${files[@]}" | awk '
	$1 ~ /debian-security/ || $2 ~ /-security$/ { if (sec == "") sec = $1; next }
	$1 ~ /debian\/?$/ && $2 ~ /^[a-z]+$/ { if (main == "") main = $1 }
	END {
		if (main == "") exit 1
		sub(/\/$/, "", main)
		if (sec == "") sec = main "-security"
		print main, sec
	}'
}

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

# A private apt root per suite: lists live in the cache, nothing system-wide.
apt_setup() {
	local suite=$1 dir=$TWA_CACHE/apt/$1 main sec
	read -r main sec < <(mirror_uris) ||
		die "cannot find a Debian mirror in /etc/apt/sources.list*"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc/preferences.d"
	cat >"$dir/etc/sources.list" <<SRC
deb [trusted=yes] $main $suite main
deb [trusted=yes] $sec $suite-security main
SRC
	cat >"$dir/apt.conf" <<CONF
Dir::State "$dir";
Dir::State::Lists "$dir/lists";
Dir::State::status "/dev/null";
Dir::Cache "$dir";
Dir::Cache::Archives "$dir/archives";
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::Etc::Preferences "$dir/etc/preferences";
Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures "amd64";
Acquire::Languages "none";
CONF
	echo "$dir/apt.conf"
}

# Update a suite's lists at most once per run of this script.
declare -A updated=()
apt_update() {
	local conf=$1 suite=$2
	[ -n "${updated[$suite]:-}" ] && return 0
	log "apt-get update ($suite, private lists under $TWA_CACHE/apt)"
	APT_CONFIG=$conf apt-get update -q >"$TWA_CACHE/apt/$suite/update.log" 2>&1 || {
		tail -20 "$TWA_CACHE/apt/$suite/update.log" >&2
		die "apt-get update for $suite failed (network? mirror?)"
	}
	updated[$suite]=1
}

# Depends of a package, one name a line (alternatives and versions dropped).
pkg_depends() {
	APT_CONFIG=$1 apt-cache show --no-all-versions "$2" |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -E 's/\|.*//; s/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$' || true
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
