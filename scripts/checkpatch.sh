#!/usr/bin/env bash
# Run the kernel's checkpatch.pl over the project's kernel C.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/checkpatch.sh [FILE...]

Runs checkpatch.pl --no-tree -f (from the linux-source tree of kernel
$TWA_TOOLS_KERNEL, fetched into the cache) on FILEs, default: module/ include/ kunit/ C sources and
headers. Exit status 1 on any error, warning or check.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
need_cmds perl:perl

tree=$("$TWA_ROOT/scripts/fetch-source.sh" "$TWA_TOOLS_KERNEL")
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	mapfile -t files < <(cd "$TWA_ROOT" && find module include kunit -name '*.[ch]' | sort)
fi
rc=0
for f in "${files[@]}"; do
	if ! out=$(cd "$TWA_ROOT" && "$tree/scripts/checkpatch.pl" --no-tree --strict -q \
		-f "$f" 2>&1); then
		printf '%s\n' "$out"
		rc=1
	fi
done
if [ "$rc" = 0 ]; then
	log "checkpatch: ${#files[@]} files clean"
else
	log "checkpatch: findings above"
fi
exit "$rc"
