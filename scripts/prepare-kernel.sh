#!/usr/bin/env bash
# Prepare kernels for everything else: each one fetched (Debian's) or built
# from source, the build roots its suite needs made, its modules' compiler
# decided, and one manifest written: $TWA_BUILD/KERNEL/manifest. The fetch
# and build scripts run here and nowhere else; every other script reads
# the manifest, through manifest_load (lib.sh).
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/prepare-kernel.sh [--force] KERNEL...

For each KERNEL (any of: $(kernels_all | paste -sd' ')), in four steps
that each run once for all of them:
  1. Debian's kernels fetched (scripts/fetch-kernel.sh; nothing when cached);
  2. each suite's build root made once, with every compiler its kernels
     need (scripts/build-root.sh);
  3. the kernels built from source (scripts/build-kernel.sh);
  4. \$TWA_BUILD/KERNEL/manifest written: what every other script reads.
A kernel whose manifest this run (TWA_RUN) already wrote is not prepared
again, unless --force. Its keys (kernels/README.md, "The manifest"):
  ${TWA_MANIFEST_KEYS[*]}
Exit status 1 if any kernel could not be prepared (the others are).
USAGE
}
force=0 names=()
for a in "$@"; do
	case "$a" in
	-h | --help) usage; exit 0 ;;
	--force) force=1 ;;
	-*) usage >&2; exit 2 ;;
	*) names+=("$a") ;;
	esac
done
[ ${#names[@]} -gt 0 ] || { usage >&2; exit 2; }

rc=0 todo=()
for k in "${names[@]}"; do
	kernel_conf "$k"
	if [ "$force" = 0 ] && manifest_current "$k"; then
		continue
	fi
	todo+=("$k")
done
[ ${#todo[@]} -gt 0 ] || exit 0

# kernel.env of each kernel, as the fetch or build script left it.
declare -A env=() failed=()
fail() {
	log "$1: $2"
	failed[$1]=1 rc=1
}
env_get() { sed -n "s/^$2=//p" "$1"; }

# get SOURCE SCRIPT WHAT: SCRIPT (fetch-kernel.sh, build-kernel.sh) for
# every kernel of that SOURCE still to do, each one's kernel.env noted.
get_kernels() {
	local k d
	for k in "${todo[@]}"; do
		[ -z "${failed[$k]:-}" ] || continue
		kernel_conf "$k"
		[ "$K_SOURCE" = "$1" ] || continue
		if d=$("$TWA_ROOT/scripts/$2" "$k"); then
			env[$k]=$d/kernel.env
		else
			fail "$k" "not $3 (above)"
		fi
	done
}

# 1. Debian's kernels.
get_kernels debian fetch-kernel.sh fetched

# 2. Each suite's root once, with the union of its kernels' compilers (a
# root made for one kernel was made again for each that asked for one more).
declare -A root_pkgs=() roots=()
for k in "${todo[@]}"; do
	[ -z "${failed[$k]:-}" ] || continue
	kernel_conf "$k"
	suite=$(kernel_root_suite)
	[ -n "$suite" ] || continue
	kd=""
	[ "$K_SOURCE" = build ] || kd=$(env_get "${env[$k]}" KDIR)
	pkgs=$(kernel_root_pkgs "$k" "$kd") || { fail "$k" "its root's compiler is unknown"; continue; }
	root_pkgs[$suite]+=" $pkgs"
done
for suite in "${!root_pkgs[@]}"; do
	mapfile -t want < <(tr ' ' '\n' <<<"${root_pkgs[$suite]}" | grep . | sort -u)
	if r=$("$TWA_ROOT/scripts/build-root.sh" "$suite" "${want[@]}"); then
		roots[$suite]=$r
	else
		log "$suite: no build root (above)"
		rc=1
	fi
done

# 3. Kernels built from source (each in its suite's root, made above).
get_kernels build build-kernel.sh built

# 4. The manifests, each written whole or not at all.
write_manifest() {
	local k=$1 e=$2 suite root="" kdir cc cfg out
	kernel_conf "$k"
	suite=$(kernel_root_suite)
	if [ -n "$suite" ]; then
		root=${roots[$suite]:-}
		[ -n "$root" ] || { fail "$k" "no $suite build root"; return; }
	fi
	kdir=$(env_get "$e" KDIR)
	cfg=$(env_get "$e" KCONFIG)
	# A source build names the compiler it was built with; a Debian
	# kernel's headers do (kernel_compiler: the one place that decides).
	cc=$(env_get "$e" CC)
	[ -n "$cc" ] || cc=$(kernel_compiler "$kdir")
	out=$TWA_BUILD/$k
	mkdir -p "$out"
	cat >"$out/manifest.new" <<MANIFEST
NAME=$k
SOURCE=$K_SOURCE
SUITE=$K_SUITE
ARCH=$K_ARCH
KABI=$(env_get "$e" KABI)
KRELEASE=$(env_get "$e" KRELEASE)
VMLINUZ=$(env_get "$e" VMLINUZ)
KDIR=$kdir
KCONFIG=$cfg
KSRC=$(env_get "$e" KSRC)
EXTRA_KO=$(env_get "$e" EXTRA_KO)
CC=$cc
CROSS=$(kernel_cross)
ROOT=$root
ROOT_SUITE=$suite
COMPILER=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$cfg")
OFFERS=$(kernel_offers "$e")
RUN=$TWA_RUN
MANIFEST
	mv "$out/manifest.new" "$out/manifest"
}
for k in "${todo[@]}"; do
	[ -z "${failed[$k]:-}" ] || continue
	write_manifest "$k" "${env[$k]}"
done
exit "$rc"
