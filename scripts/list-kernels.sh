#!/usr/bin/env bash
# The kernel matrix: one line per kernels/NAME.conf, with what the kernel
# offers as read from its own config and headers (once it is in the cache).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/list-kernels.sh [--fetch]   (make list-kernels)

Prints each kernel target of kernels/*.conf: name, where it comes from,
what make test runs on it, and what it offers (nohz_full, preemption model,
ibt, kunit, kasan, native-no-ipi: read from its .config and headers). A
kernel not in the cache yet says so; --fetch fetches or builds it first.
USAGE
}
fetch=0
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--fetch) fetch=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

printf '%-11s %-7s %-36s %-12s %s\n' KERNEL SOURCE PACKAGE TESTS OFFERS
for k in $(kernels_all); do
	kernel_conf "$k"
	env=""
	if [ "$fetch" = 1 ]; then
		env=$(kernel_dir "$k")/kernel.env
	elif [ "$K_SOURCE" = debian ] && [ -f "$TWA_CACHE/kernels/$k/current/kernel.env" ]; then
		env=$TWA_CACHE/kernels/$k/current/kernel.env
	elif [ -f "$TWA_BUILD/$k/kernel.env" ]; then
		env=$TWA_BUILD/$k/kernel.env
	fi
	offers="(not in the cache: make list-kernels FETCH=1)"
	[ -n "$env" ] && offers=$(kernel_offers "$env")
	printf '%-11s %-7s %-36s %-12s %s\n' "$k" "$K_SOURCE" "$K_SUITE/$K_PACKAGE" \
		"${K_TESTS// /,}" "$offers"
done
