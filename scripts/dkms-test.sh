#!/usr/bin/env bash
# Build twa-noipi with DKMS, for real, against the cached Debian headers of
# the named kernels, in private DKMS trees (nothing installed system-wide).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/dkms-test.sh [KERNEL...]   (make dkms-test)

For each KERNEL (default: those whose TESTS include dkms): dkms add + dkms build of the
package described by dkms.conf, with --dkmstree/--sourcetree under
$TWA_BUILD/dkms and --kernelsourcedir pointing at the cached headers, then
checks the built module's vermagic names that kernel. A build that passed
is not made again until its inputs change (the package's files, the
kernel's manifest, the dkms that builds it), as make check's gates. A kernel of another
Debian suite than the host's builds in that suite's root
(scripts/build-root.sh), with the dkms and compiler of its suite.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
kernels=("$@")
if [ ${#kernels[@]} -eq 0 ]; then
	mapfile -t kernels < <(kernels_with dkms)
fi
need_cmds dkms:dkms modinfo:kmod

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$TWA_ROOT/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TWA_ROOT/dkms.conf")
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
	key=$(inputs_key "$TWA_ROOT/dkms.conf" "$TWA_ROOT/Makefile" "${srcs[@]}" \
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
	(cd "$TWA_ROOT" && tar -cf - dkms.conf Makefile $TWA_MODULE_SRC) |
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
	mkdir -p "${stamp%/*}"
	echo "$key" >"$stamp"
done
