#!/usr/bin/env bash
# Every test on every kernel: static checks on the host, then the guest
# suites on Debian 5.10, 6.1 and 6.12 under QEMU.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/test.sh [SERIES...]   (make test)

Installs missing host packages (as root), then runs: make check
(checkpatch, sparse, shellcheck, clang-format, clang-tidy), the C++ host
unit tests (ctest), a DKMS build per series, and for each SERIES (default:
$TWA_SERIES_ALL) the guest smoke test, the GoogleTest IPI suite and the
example consumer, the fuzzer and the race tests under QEMU, plus a
nohz_full=1 boot on 6.1 and 6.12; then the KUnit suites on 5.10 and 6.1
kernels built from Debian's sources, and everything again on their debug
flavour (KASAN, lockdep, kmemleak).
Ends with a line "N passed, N failed"; exit status 1 if anything failed.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
series=("$@")
[ ${#series[@]} -gt 0 ] || read -ra series <<<"$TWA_SERIES_ALL"
for s in "${series[@]}"; do series_check "$s"; done

"$TWA_ROOT/scripts/install-deps.sh" || die "cannot install host packages"

passed=0 failed=0 failures=()
step() {
	local name=$1 t0=$SECONDS
	shift
	log "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		log "=== $name: ok ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		log "=== $name: FAILED ($((SECONDS - t0))s)"
	fi
}

step "make check (checkpatch, sparse, shellcheck, clang-format, clang-tidy)" \
	"$TWA_ROOT/scripts/check.sh"
step "host unit tests" "$TWA_ROOT/scripts/build-userspace.sh" --test
step "DKMS build against every series' headers" "$TWA_ROOT/scripts/dkms-test.sh" "${series[@]}"
# Races: full-size unload cycles on the default kernel (each rmmod waits
# for an RCU-tasks grace period, ~0.4 s under TCG), fewer elsewhere.
unloads() { if [ "$1" = "$TWA_SERIES_DEFAULT" ]; then echo 1000; else echo 200; fi; }
guest_progs="smoke twa-ipi-tests consumer fuzz races"
for s in "${series[@]}"; do
	step "guest $s" "$TWA_ROOT/scripts/qemu-run.sh" --name tests --timeout 1800 \
		--tests "$guest_progs" --args-for fuzz 20 \
		--args-for races "$(unloads "$s") 1000 100000" "$s"
	# NO_HZ_FULL exists on 6.1 and 6.12 only.
	if [ "$s" != 5.10 ]; then
		step "guest $s nohz_full=1" "$TWA_ROOT/scripts/qemu-run.sh" --name nohz \
			--append nohz_full=1 --tests twa-ipi-tests \
			--args "--gtest_filter=Ipi.NohzFull*" "$s"
	fi
done
step "kunit (kernels built from Debian sources)" "$TWA_ROOT/scripts/kunit.sh"
# Debug kernels: KASAN, lockdep, atomic-sleep, debug objects, kmemleak.
step "kunit on debug kernels" "$TWA_ROOT/scripts/kunit.sh" --flavour debug
for s in 5.10 6.1; do
	step "guest debug-$s" "$TWA_ROOT/scripts/qemu-run.sh" --name tests --timeout 2400 \
		--tests "$guest_progs" --args-for fuzz 15 --args-for races "300 300 20000" \
		"debug-$s"
done

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
