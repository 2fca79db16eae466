#!/usr/bin/env bash
# Everything a boot of one kernel needs, each piece built only when its
# inputs changed: the kernel (fetched or built), its modules, the static
# guest programs, the user-space suite and the initramfs holding them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/mkinitramfs.sh KERNEL

For KERNEL (any of: $(kernels_all | paste -sd' ')): reads its manifest,
builds the module (scripts/build-module.sh) and the static guest programs
(the C++ suite, scripts/build-userspace.sh; guest/*.sh as they are),
and writes $TWA_BUILD/KERNEL/initrd.gz, beside the kernel's manifest
(scripts/prepare-kernel.sh). Prints the directory. Nothing is rebuilt when nothing
changed.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
k=$1
kernel_conf "$k"
need_cmds cpio:cpio gzip:gzip

# The guest has no libc of its own: busybox must be the static build, and
# of the kernel's architecture: the host's for x86_64, Debian's arm64
# busybox-static (scripts/lib.sh, guest_sysroot) for arm64.
if [ "$K_ARCH" = x86_64 ]; then
	need_cmds busybox:busybox-static
	bb=/bin/busybox progs=$TWA_BUILD/userspace-tests/guest
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		die "busybox-static is not installed (run scripts/install-deps.sh)"
else
	bb=$(guest_sysroot "$K_ARCH")/bin/busybox progs=$TWA_BUILD/userspace-tests-$K_ARCH/guest
fi
manifest_load "$k"
mod=$("$TWA_ROOT/scripts/build-module.sh" "$k")

# Guest programs are the same for every kernel of an architecture: built
# once (C++, static; cross-built for arm64).
"$TWA_ROOT/scripts/build-userspace.sh" --arch "$K_ARCH" >&2

out=$TWA_BUILD/$k
# shellcheck disable=SC2206 # a list of paths
inputs=("$bb" "$TWA_ROOT/guest/init" "$TWA_ROOT"/guest/*.sh "$mod"/*.ko
	"$progs"/* $M_EXTRA_KO)
key=$(inputs_key "${inputs[@]}" "$(grep -v '^RUN=' "$(manifest_file "$k")")")
if up_to_date "$out/initrd.key" "$key" && [ -f "$out/initrd.gz" ]; then
	echo "$out"
	exit 0
fi
if artefact_get "initrd-$k" "$key" "$out"; then
	echo "$key" >"$out/initrd.key"
	log "$k: initramfs, as built before from these inputs (the cache's)"
	echo "$out"
	exit 0
fi
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,twa/bin}
cp "$bb" "$root/bin/busybox"
cp "$TWA_ROOT/guest/init" "$root/init"
for sh in "$TWA_ROOT"/guest/*.sh; do
	cp "$sh" "$root/twa/bin/$(basename "$sh" .sh)"
done
cp "$progs"/* "$root/twa/bin/"
cp "$mod"/*.ko "$root/twa/"
for ko in $M_EXTRA_KO; do
	cp "$ko" "$root/twa/"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.gz"
artefact_put "initrd-$k" "$key" "$out/initrd.gz"
echo "$key" >"$out/initrd.key"
log "$k: initramfs built"
echo "$out"
