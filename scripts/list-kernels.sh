#!/usr/bin/env bash
# The kernel matrix: one line per kernels/NAME.conf, with what the kernel
# offers as its manifest says (read from its own config and headers by
# scripts/prepare-kernel.sh) and what the module chose on it in its last
# boot.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/list-kernels.sh [--fetch] [--markdown]   (make list-kernels)

Prints each kernel target of kernels/*.conf: name, where it comes from,
what make test runs on it, its ABI, the compiler its modules are built
with (here, or in a root of its own suite), and what it offers (nohz_full,
preemption model, ibt, kunit, kasan, native-no-ipi: read from its .config
and headers), as its manifest in this clone says (make test, or
scripts/prepare-kernel.sh, writes it). A kernel not prepared yet says so;
--fetch prepares (fetches or builds) every kernel first. From the module's
features as its last make test boot printed them: how it reaches
task_work_add (its export, or a kprobe lookup) and what its unload waits with.
--markdown  the same as a Markdown table (the README's kernel table).
USAGE
}
fetch=0 md=0
for a in "$@"; do
	case "$a" in
	-h | --help) usage; exit 0 ;;
	--fetch) fetch=1 ;;
	--markdown) md=1 ;;
	*) usage >&2; exit 2 ;;
	esac
done

# The feature VALUE (its first word) the module's features file said in
# the kernel's last make test boot.
feature() { run_feature "$1" tests "$2" | cut -d' ' -f1; }
row() {
	if [ "$md" = 1 ]; then
		printf '| %s ' "$@"
		echo '|'
	else
		printf "%-${namew}s %-8s %-6s %-24s %-14s %-16s %-21s %-21s %s\n" "$@"
	fi
}
namew=$(kernels_all | awk '{ if (length($0) > w) w = length($0) } END { print w }')
if [ "$md" = 1 ]; then
	echo "| kernel | suite | arch | ABI | compiler (modules built in) | tests | preemption | NO_HZ_FULL | native NO_IPI | task_work_add via | unload waits with |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
else
	row KERNEL SUITE ARCH ABI COMPILER TESTS TASK_WORK_ADD UNLOAD-SYNC OFFERS
fi
# FETCH=1: every kernel prepared first (fetched or built), in one call.
if [ "$fetch" = 1 ]; then
	mapfile -t all < <(kernels_all)
	"$TWA_ROOT/scripts/prepare-kernel.sh" "${all[@]}" >&2 || true
fi
for k in $(kernels_all); do
	kernel_conf "$k"
	abi="-" cc="-" where=host
	offers="(not prepared in this clone: make list-kernels FETCH=1, or make test)"
	# What the kernel's manifest says (scripts/prepare-kernel.sh wrote it).
	if [ -f "$(manifest_file "$k")" ]; then
		offers=$(manifest_key "$k" OFFERS)
		abi=$(manifest_key "$k" KRELEASE)
		cc=$(manifest_key "$k" CC)
	fi
	[ -n "$(kernel_root_suite)" ] && where="$K_SUITE root"
	twa=$(feature "$k" task_work_add) unload=$(feature "$k" unload_sync)
	if [ "$md" = 1 ]; then
		preempt=$(grep -o 'preempt=[^ ]*' <<<"$offers" || echo "preempt=-")
		nohz=no native=no
		[[ " $offers " == *" nohz_full "* ]] && nohz=yes
		[[ " $offers " == *" native-no-ipi "* ]] && native=yes
		row "$k" "$K_SUITE" "$K_ARCH" "$abi" "$cc ($where)" "${K_TESTS// /, }" "${preempt#preempt=}" \
			"$nohz" "$native" "$twa" "$unload"
	else
		row "$k" "$K_SUITE" "$K_ARCH" "$abi" "$cc" "${K_TESTS// /,}" "$twa" "$unload" "$offers"
	fi
done
