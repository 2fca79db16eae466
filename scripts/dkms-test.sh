#!/usr/bin/env bash
# Build twa-noipi with DKMS, for real, against the cached Debian headers of
# the named kernels, in private DKMS trees (nothing installed system-wide).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/dkms-test.sh [KERNEL...]   (make dkms-test)
       scripts/dkms-test.sh --exclusion

For each KERNEL (default: those whose TESTS include dkms): dkms add + dkms build of the
package described by dkms.conf, with --dkmstree/--sourcetree under
$TWA_BUILD/dkms and --kernelsourcedir pointing at the cached headers, then
checks the built module's vermagic names that kernel. A build that passed
is not made again until its inputs change (the package's files, the
kernel's manifest, the dkms that builds it), as make check's gates. A kernel of another
Debian suite than the host's builds in that suite's root
(scripts/build-root.sh), with the dkms and compiler of its suite.

--exclusion: DKMS skips (exit 77) a kernel whose headers lack
TIF_NOTIFY_SIGNAL, and says why (headers made for it: nothing is built).
USAGE
}
# A kernel whose headers lack TIF_NOTIFY_SIGNAL: DKMS must skip it (exit
# 77, which autoinstall and the package's postinst take as "skipped", so
# apt goes on) and say why. Headers laid out as Debian's (a flavour
# directory whose Makefile includes the -common one's) with a
# thread_info.h that has no TIF_NOTIFY_SIGNAL; DKMS rules the kernel out
# before it runs a compiler.
exclusion_test() {
	local d=$TWA_BUILD/dkms/no-notify-signal rc=0 trees
	rm -rf "$d"
	mkdir -p "$d/tree" "$d/src/$name-$ver" "$d/hdr" "$d/common/arch/x86/include/asm"
	# shellcheck disable=SC2086 # a list of paths
	(cd "$TWA_ROOT" && tar -cf - dkms.conf dkms Makefile $TWA_MODULE_SRC) | tar -xf - -C "$d/src/$name-$ver"
	echo "include $d/common/Makefile" >"$d/hdr/Makefile"
	touch "$d/common/Makefile"
	printf '#define TIF_SIGPENDING 2\n' >"$d/common/arch/x86/include/asm/thread_info.h"
	trees=(--dkmstree "$d/tree" --sourcetree "$d/src")
	dkms add -m "$name" -v "$ver" "${trees[@]}" >"$d/dkms.log" 2>&1 || {
		cat "$d/dkms.log" >&2
		die "no-notify-signal: dkms add failed"
	}
	dkms build -m "$name" -v "$ver" -k 5.10.0-0-amd64 -a x86_64 --kernelsourcedir "$d/hdr" \
		"${trees[@]}" >>"$d/dkms.log" 2>&1 || rc=$?
	if [ "$rc" != 77 ] || ! grep -q 'lacks TIF_NOTIFY_SIGNAL' "$d/dkms.log"; then
		tail -20 "$d/dkms.log" >&2
		die "no-notify-signal: DKMS exited $rc (want 77, skipped) or did not say why"
	fi
	log "no TIF_NOTIFY_SIGNAL: DKMS skips the kernel (exit 77) and says why: $(grep -o 'lacks TIF_NOTIFY_SIGNAL[^,]*' "$d/dkms.log" | head -1)"
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
need_cmds dkms:dkms modinfo:kmod
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$TWA_ROOT/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TWA_ROOT/dkms.conf")
if [ "${1:-}" = --exclusion ]; then
	exclusion_test
	exit 0
fi
kernels=("$@")
if [ ${#kernels[@]} -eq 0 ]; then
	mapfile -t kernels < <(kernels_with dkms)
fi

# A DKMS build that passed is not made again until its inputs change (as
# make check's gates): the package's files, the kernel's manifest, the
# dkms that builds it (the host's, or its root's packages).
# shellcheck disable=SC2086 # a list of paths
mapfile -t srcs < <(src_files $TWA_MODULE_SRC)
for s in "${kernels[@]}"; do
	manifest_load "$s"
	# shellcheck disable=SC2153 # M_KEY variables are manifest_load's
	KRELEASE=$M_KRELEASE
	stamp=$TWA_CACHE/check/dkms-$s.key
	key=$(inputs_key "$TWA_ROOT/dkms.conf" "$TWA_ROOT/dkms/post-build.sh" "$TWA_ROOT/Makefile" "${srcs[@]}" \
		"$(grep -v '^RUN=' "$(manifest_file "$s")")" "$(dkms --version 2>&1)" \
		${M_ROOT:+"$M_ROOT/.twa-packages"})
	if up_to_date "$stamp" "$key"; then
		log "$s: DKMS build passed before with these inputs ($KRELEASE)"
		continue
	fi
	# As scripts/build-module.sh: a kernel of another suite builds, DKMS
	# and all, in that suite's root (the manifest's ROOT).
	if [ -n "$M_ROOT" ]; then
		run=(in_root "$M_ROOT" "$M_KDIR") where=" in the $M_ROOT_SUITE root"
		# Found where DKMS looks by default: given --kernelsourcedir,
		# bullseye's DKMS "prepares" the tree (make mrproper) and wrecks
		# the cached headers.
		mkdir -p "$M_ROOT/lib/modules/$KRELEASE"
		ln -sfn "$(root_kdir "$M_KDIR")" "$M_ROOT/lib/modules/$KRELEASE/build"
		ksrc=()
	else
		run=() ksrc=(--kernelsourcedir "$M_KDIR") where=""
	fi
	d=$TWA_BUILD/dkms/$s
	rm -rf "$d"
	mkdir -p "$d/tree" "$d/src/$name-$ver"
	# shellcheck disable=SC2086 # a list of paths
	(cd "$TWA_ROOT" && tar -cf - dkms.conf dkms Makefile $TWA_MODULE_SRC) |
		tar -xf - -C "$d/src/$name-$ver"
	trees=(--dkmstree "$d/tree" --sourcetree "$d/src")
	log "$s: dkms add + build $name/$ver for $KRELEASE$where"
	if ! { "${run[@]}" dkms add -m "$name" -v "$ver" "${trees[@]}" &&
		"${run[@]}" dkms build -m "$name" -v "$ver" -k "$KRELEASE" \
			"${ksrc[@]}" "${trees[@]}"; } >"$d/dkms.log" 2>&1; then
		tail -30 "$d/dkms.log" >&2
		find "$d/tree" -name make.log -exec tail -30 {} \; >&2
		die "$s: DKMS build failed (log: $d/dkms.log)"
	fi
	ko=$(find "$d/tree/$name/$ver/$KRELEASE" -name 'twa_noipi.ko*' | head -1)
	[ -n "$ko" ] || die "$s: DKMS reported success but built no twa_noipi.ko"
	vermagic=$(modinfo -F vermagic "$ko")
	case "$vermagic" in
	"$KRELEASE "*) log "$s: DKMS built $(basename "$ko") (vermagic: $vermagic)" ;;
	*) die "$s: vermagic '$vermagic' does not name $KRELEASE" ;;
	esac
	# dkms/post-build.sh keeps Module.symvers where the shim looks for it.
	symvers=$(find "$d/tree/$name/$ver/$KRELEASE" -name Module.symvers | head -1)
	{ [ -n "$symvers" ] && grep -qw twa_task_work_add "$symvers"; } ||
		die "$s: DKMS's post-build kept no Module.symvers with twa_noipi's exports under $d/tree/$name/$ver/$KRELEASE"
	log "$s: Module.symvers for dependent modules: ${symvers#"$d/tree"/}"
	mkdir -p "${stamp%/*}"
	echo "$key" >"$stamp"
done
