#!/usr/bin/env bash
# Every test on every kernel: static checks on the host, then the guest
# suites on Debian 5.10, 6.1 and 6.12 under QEMU.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/test.sh [SERIES...]   (make test)

Installs missing host packages (as root), then runs: shellcheck on the
scripts, checkpatch on the kernel C, and for each SERIES (default:
$TWA_SERIES_ALL) the guest smoke test under QEMU.
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

step shellcheck shellcheck -x "$TWA_ROOT"/scripts/*.sh "$TWA_ROOT/guest/init" "$TWA_ROOT/.ci/run"
step checkpatch "$TWA_ROOT/scripts/checkpatch.sh"
for s in "${series[@]}"; do
	step "guest $s" "$TWA_ROOT/scripts/qemu-run.sh" --name tests "$s"
done

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
