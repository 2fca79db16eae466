#!/usr/bin/env bash
# Make (once) a minimal root of a Debian suite to build modules in: the
# suite's own compiler, glibc and kbuild needs. Cached per suite.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-root.sh SUITE [PACKAGE...]

Makes \$TWA_CACHE/roots/SUITE (now: $TWA_CACHE/roots) with mmdebstrap
--variant=minbase from the machine's own Debian mirror, with what a module
build and DKMS need (${TWA_ROOT_PKGS[*]})
and the named extra PACKAGEs (the kernel's compiler, gcc-N). Reused while
it holds them all; remade, with the union, when one is missing. Needs root
(mmdebstrap, and the chroot that builds in it). Prints the root's path.

A kernel of a suite other than the host's is built in its suite's root:
its headers ask for that suite's compiler, and from trixie on their kbuild
tools need that suite's glibc (scripts/lib.sh, in_root).
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "" | -*) usage >&2; exit 2 ;; esac
suite=$1
shift
[[ $suite =~ ^[a-z][a-z0-9-]*$ ]] || die "'$suite' is not a Debian suite name"
root=$TWA_CACHE/roots/$suite
want=("${TWA_ROOT_PKGS[@]}" "$@")
# One maker per suite at a time; the others wait and reuse its root.
mkdir -p "$TWA_CACHE/roots"
exec 9>"$TWA_CACHE/roots/$suite.lock"
flock 9

missing=()
if [ -f "$root/.twa-packages" ]; then
	for p in "${want[@]}"; do
		grep -qFx "$p" "$root/.twa-packages" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "$root"
		exit 0
	fi
	log "$suite root lacks ${missing[*]}: making it again with them"
	mapfile -t want < <(printf '%s\n' "${want[@]}" | cat - "$root/.twa-packages" | sort -u)
fi
[ "$(id -u)" = 0 ] || die "making the $suite build root needs root (mmdebstrap, chroot): run as root, or make test as root"
need_cmds mmdebstrap:mmdebstrap unshare:util-linux
read -r main _ < <(mirror_uris) || die "cannot find a Debian mirror in /etc/apt/sources.list*"
tmp=$root.new
rm -rf "$tmp"
log "$suite: making a build root with mmdebstrap (${want[*]}; log: $tmp.log)"
t0=$SECONDS
# The mirror's Release files may be past their Valid-Until (a snapshot):
# apt's own update only warns, mmdebstrap's fails.
if ! mmdebstrap --variant=minbase --include="$(
	IFS=,
	echo "${want[*]}"
)" --aptopt='Acquire::Languages "none"' --aptopt='Acquire::Check-Valid-Until "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	"$suite" "$tmp" "deb [trusted=yes] $main $suite main" >"$tmp.log" 2>&1; then
	tail -20 "$tmp.log" >&2
	rm -rf "$tmp"
	die "$suite: mmdebstrap failed (not a suite of this mirror, or a package missing from it: ${want[*]}; log: $tmp.log)"
fi
printf '%s\n' "${want[@]}" >"$tmp/.twa-packages"
rm -rf "$root"
mv "$tmp" "$root"
mv "$tmp.log" "$root.log"
log "$suite: build root ready in $((SECONDS - t0))s ($(du -sh "$root" | cut -f1))"
echo "$root"
