#!/usr/bin/env bash
# A user's install, end to end: a full Debian root of the kernel's own
# suite booted under QEMU as the guest's root filesystem, where the
# kernel's headers and our packages are installed with apt, DKMS builds
# the module, modprobe loads it, the example consumer builds against it,
# make bench runs, and apt purge leaves nothing behind.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/user-install.sh --prepare KERNEL
       scripts/user-install.sh [--timeout S] KERNEL

--prepare: make (once; cached by its inputs in $TWA_CACHE/userroots/)
  the kernel's full Debian root: mmdebstrap of its suite with apt, dkms
  and what a user's machine has, the kernel's own linux-image package
  installed (its initramfs made by initramfs-tools), the kernel's
  linux-headers packages downloaded but not installed (their
  dependencies are: the guest has no network), our packages (make deb)
  and a copy of this checkout in /root/twa-install; then an ext4 image of
  it (mke2fs -d).
Without: boots that image (a copy-on-write overlay; the image stays as
  it is) with the root's own /boot kernel and initramfs, init being
  /usr/local/sbin/twa-user-test (guest/user-test.sh), which as a user
  would: installs the headers, then our packages with apt (DKMS builds
  and installs the module), loads it with modprobe, builds and loads the
  example consumer against the installed shim, runs make bench --short
  from the checkout's copy, and purges the packages, checking that no
  module file, DKMS state or source is left. Each step's verdict comes on
  the result port; the guest's console is kept in
  $TWA_BUILD/KERNEL/runs/install/.
USAGE
}
prepare=0 timeout=1500
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--prepare) prepare=1; shift ;;
	--timeout) timeout=${2:-}; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# = 1 ] || { usage >&2; exit 2; }
k=$1
kernel_conf "$k"
manifest_load "$k"
[ "$K_SOURCE" = debian ] || die "$k: a user's install needs a Debian kernel package (SOURCE=debian)"
[ "$K_ARCH" = x86_64 ] || die "$k: the user's install runs on x86_64 kernels only (its root is made by mmdebstrap on this host)"
# shellcheck disable=SC2153 # M_KEY variables are manifest_load's
abi=$M_KABI
debs=$TWA_BUILD/deb
store=$TWA_CACHE/userroots
img=$store/$k.img

# Two stages, each cached by its inputs: the Debian root (mmdebstrap: the
# suite, the kernel, the hook; minutes), then the image made of it with
# our packages, the guest script and the checkout copied in (mke2fs;
# seconds), remade whenever one of those changes.
copied=(Makefile Kbuild dkms.conf dkms module include kunit examples scripts userspace-tests)
root=$store/$k.root
root_key() {
	inputs_key "$TWA_ROOT/guest/user-root-hook.sh" "$K_SUITE $abi $(mirror_uris)" \
		"$(sed -n '/^make_root()/,/^}/p' "$TWA_ROOT/scripts/user-install.sh")"
}
image_key() {
	local -a files
	mapfile -t files < <(cd "$TWA_ROOT" && find "${copied[@]}" -type f | sort | sed "s#^#$TWA_ROOT/#")
	inputs_key "$TWA_ROOT/guest/user-test.sh" "${files[@]}" "$debs"/*.deb "$(root_key)" \
		"$(sed -n '/^make_image()/,/^}/p' "$TWA_ROOT/scripts/user-install.sh")"
}

make_root() {
	local key main sec t0=$SECONDS
	key=$(root_key)
	if up_to_date "$root/.twa-key" "$key"; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "making the $k user root needs root (mmdebstrap, chroot)"
	need_cmds mmdebstrap:mmdebstrap
	read -r main sec < <(mirror_uris) || die "cannot find a Debian mirror in /etc/apt/sources.list*"
	mkdir -p "$store"
	rm -rf "$root" "$root.new"
	local sources=("deb [trusted=yes] $main $K_SUITE main")
	case "$K_SUITE" in sid | unstable) ;; *) sources+=("deb [trusted=yes] $sec $K_SUITE-security main") ;; esac
	# What a user's Debian machine has, and the kernel package itself.
	local pkgs="apt,dkms,make,gcc,libc6-dev,kmod,procps,python3,openssl,initramfs-tools,linux-image-$abi"
	log "$k: making the user's root with mmdebstrap ($K_SUITE, linux-image-$abi; log: $root.log)"
	# The headers' dependencies are installed (the guest has no network),
	# the headers themselves only downloaded, for the guest's apt.
	if ! mmdebstrap --variant=minbase --include="$pkgs" \
		--aptopt='Acquire::Languages "none"' --aptopt='Acquire::Check-Valid-Until "false"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
		--customize-hook="$TWA_ROOT/guest/user-root-hook.sh \"\$1\" $abi $M_KRELEASE" \
		"$K_SUITE" "$root.new" "${sources[@]}" >"$root.log" 2>&1; then
		tail -20 "$root.log" >&2
		rm -rf "$root.new"
		die "$k: mmdebstrap of the user's root failed (log: $root.log)"
	fi
	[ -f "$root.new/boot/initrd.img-$M_KRELEASE" ] ||
		die "$k: the root has no /boot/initrd.img-$M_KRELEASE (log: $root.log)"
	ls "$root.new/root/twa-install/debs/linux-headers-${abi}"_*.deb >/dev/null ||
		die "$k: the headers were not downloaded into the root (log: $root.log)"
	echo "$key" >"$root.new/.twa-key"
	mv "$root.new" "$root"
	log "$k: user's root made in $((SECONDS - t0))s ($(du -sh "$root" | cut -f1))"
}

make_image() {
	local key t0=$SECONDS mb stage
	shopt -s nullglob
	local ours=("$debs"/twa-noipi-dkms_*.deb "$debs"/twa-noipi-tools_*.deb)
	shopt -u nullglob
	[ ${#ours[@]} = 2 ] || die "$k: no packages in $debs: make deb first"
	make_root
	key=$(image_key)
	if up_to_date "$img.key" "$key" && [ -f "$img" ]; then
		log "$k: user's root image made before from these inputs ($img)"
		return 0
	fi
	need_cmds mke2fs:e2fsprogs
	rm -f "$img" "$img.key"
	# What the guest gets besides the root: our packages, the checkout,
	# its init; staged beside the root, which stays as mmdebstrap made it.
	stage=$store/$k.stage
	rm -rf "$stage" && mkdir -p "$stage/root/twa-install/debs" "$stage/root/twa-install/src"
	cp "${ours[@]}" "$stage/root/twa-install/debs/"
	(cd "$TWA_ROOT" && tar -cf - "${copied[@]}") | tar -xf - -C "$stage/root/twa-install/src"
	install -D -m755 "$TWA_ROOT/guest/user-test.sh" "$stage/usr/local/sbin/twa-user-test"
	cp -a "$stage/." "$root/"
	# Room for DKMS's and the consumer's builds and the bench's report.
	mb=$(($(du -sm "$root" | cut -f1) + 1536))
	log "$k: ext4 image of the root, ${mb} MiB (mke2fs -d)"
	if ! mke2fs -q -t ext4 -d "$root" -L twa-root "$img.new" "${mb}M" >"$img.log" 2>&1; then
		tail -5 "$img.log" >&2
		die "$k: mke2fs failed (log: $img.log)"
	fi
	# The staged files out of the root again: the next image starts clean.
	(cd "$stage" && find . -type f) | (cd "$root" && xargs rm -f)
	rm -rf "$stage" "$root/root/twa-install/src"
	mv "$img.new" "$img"
	echo "$key" >"$img.key"
	log "$k: user's root image ready in $((SECONDS - t0))s ($img)"
}

if [ "$prepare" = 1 ]; then
	make_image
	exit 0
fi

need_cmds qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debugfs:e2fsprogs
[ -f "$img" ] || die "$k: no user root image ($img): scripts/user-install.sh --prepare $k makes it"
out=$TWA_BUILD/$k/runs/install
rm -rf "$out" && mkdir -p "$out"
console=$out/console.log result=$out/result.txt
qemu-img create -q -f qcow2 -b "$img" -F raw "$out/overlay.qcow2"
# The root's own kernel and initramfs, read out of the image.
debugfs -R "dump /boot/vmlinuz-$M_KRELEASE $out/vmlinuz" "$img" >/dev/null 2>&1
debugfs -R "dump /boot/initrd.img-$M_KRELEASE $out/initrd.img" "$img" >/dev/null 2>&1
{ [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; } || die "$k: no /boot kernel or initramfs in $img"
accel=tcg,thread=multi
log "$k: booting $M_KRELEASE on its full Debian root for the user's install (timeout ${timeout}s)"
t0=$SECONDS rc=0
timeout -s KILL "$timeout" qemu-system-x86_64 -accel "$accel" -cpu max -smp 2 -m 2G \
	-kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 init=/usr/local/sbin/twa-user-test" \
	-drive "file=$out/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe" \
	-display none -monitor none -no-reboot -nic none \
	-serial "file:$console" -serial "file:$result" </dev/null || rc=$?
secs=$((SECONDS - t0))
rm -f "$out/overlay.qcow2"
tr -d '\r' <"$result" >"$result.tmp" && mv "$result.tmp" "$result"
# Files the guest sent (the DKMS make.log, the bench's report.md).
unframe_files "$result" "$out/files"
grep '^step ' "$result" | sed "s/^/[twa] $k: /" >&2 || true
fail() {
	log "$k: user's install: FAIL: $*"
	log "--- last 40 lines of the guest console ($console) ---"
	tr -d '\r' <"$console" | tail -40 >&2
	exit 1
}
[ "$rc" = 137 ] && fail "guest killed after ${timeout}s"
[ "$rc" = 0 ] || fail "qemu exited $rc"
grep -q '^end$' "$result" || fail "the guest did not finish (no 'end' on the result port)"
bad=$(grep -E '^step [^ ]+ FAIL' "$result" || true)
[ -z "$bad" ] || fail "$(echo "$bad" | paste -sd';')"
for s in headers packages dkms-status modprobe consumer bench unload purge; do
	grep -qE "^step $s (ok|skip)" "$result" || fail "no verdict for step $s"
done
log "$k: user's install: PASS in ${secs}s ($(grep -E '^step (packages|bench) ' "$result" | paste -sd';'))"
