#!/usr/bin/env bash
# Build the guest initramfs for one kernel series: busybox, /init, the
# in-guest test programs (static) and that kernel's modules.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/mkinitramfs.sh SERIES

Builds the module for SERIES (scripts/build-module.sh), the static guest
programs (guest/*.c, guest/*.sh, and userspace-tests when built), and writes
$TWA_BUILD/SERIES/initrd.gz. Prints its path.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
s=$1
series_check "$s"
need_cmds busybox:busybox-static cpio:cpio gzip:gzip gcc:gcc

# The guest has no libc of its own: busybox must be the static build.
bb=/bin/busybox
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
	die "busybox-static is not installed (run scripts/install-deps.sh)"
kernel_dir_export "$s" || die "$s: no kernel"
mod=$("$TWA_ROOT/scripts/build-module.sh" "$s")

# Guest programs are the same for every kernel: build once.
bin=$TWA_BUILD/guest-bin
mkdir -p "$bin"
for c in "$TWA_ROOT"/guest/*.c; do
	exe=$bin/$(basename "$c" .c)
	if [ ! -x "$exe" ] || [ "$c" -nt "$exe" ] || [ "$TWA_ROOT/guest/common.h" -nt "$exe" ]; then
		log "building guest program $(basename "$exe")"
		gcc -O2 -Wall -Wextra -Werror -static -pthread -o "$exe" "$c"
	fi
done

root=$TWA_BUILD/$s/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,twa/bin}
cp "$bb" "$root/bin/busybox"
cp "$TWA_ROOT/guest/init" "$root/init"
cp "$bin"/* "$root/twa/bin/"
for sh in "$TWA_ROOT"/guest/*.sh; do
	cp "$sh" "$root/twa/bin/$(basename "$sh" .sh)"
done
"$TWA_ROOT/scripts/build-userspace.sh" >&2
if [ -d "$TWA_BUILD/userspace-tests/guest" ]; then
	cp "$TWA_BUILD"/userspace-tests/guest/* "$root/twa/bin/"
fi
cp "$mod"/*.ko "$root/twa/"
# shellcheck disable=SC1091
. "$(kernel_dir "$s")/kernel.env"
for ko in ${EXTRA_KO:-}; do
	cp "$ko" "$root/twa/"
done
out=$TWA_BUILD/$s/initrd.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
echo "$out"
