#!/usr/bin/env bash
# Install the Debian packages twa-noipi needs on the host (needs root).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PKGS=(
	build-essential make gcc g++ cmake libgtest-dev liburing-dev
	qemu-system-x86 busybox-static cpio kmod zstd xz-utils
	bc flex bison libelf-dev libssl-dev python3 gnuplot-nox
	shellcheck ca-certificates dwarves dkms sparse clang-format clang-tidy pyflakes3
	mmdebstrap gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-system-arm
	dpkg-dev debhelper dh-dkms lintian qemu-utils e2fsprogs
)

usage() {
	cat <<USAGE
Usage: scripts/install-deps.sh [--check] [--help]

Installs the host packages twa-noipi needs with apt-get (as root):
  ${PKGS[*]}
--check   only report which packages are missing, install nothing.
USAGE
}

check=0
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--check) check=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	log "host packages: all present"
	exit 0
fi
log "host packages missing: ${missing[*]}"
[ "$check" = 1 ] && exit 1
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	die "not root and no sudo: install as root: apt-get install ${missing[*]}"
fi
log "apt-get update (progress in ${TWA_CACHE}/apt-host.log)"
mkdir -p "$TWA_CACHE"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >"$TWA_CACHE/apt-host.log" 2>&1 || {
	tail -20 "$TWA_CACHE/apt-host.log" >&2
	die "apt-get update failed"
}
log "apt-get install ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$TWA_CACHE/apt-host.log" 2>&1 || {
	tail -20 "$TWA_CACHE/apt-host.log" >&2
	die "apt-get install failed"
}
log "host packages installed"
