#!/usr/bin/env bash
# Build the C++ user-space library, host unit tests and static guest tests.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-userspace.sh [--test]

Configures and builds userspace-tests/ with CMake into
$TWA_BUILD/userspace-tests and stages the static guest binaries in
$TWA_BUILD/userspace-tests/guest/ for the initramfs.
--test  also run the host-side unit tests (ctest).
USAGE
}
run_tests=0
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--test) run_tests=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac
need_cmds cmake:cmake g++:g++ ctest:cmake

b=$TWA_BUILD/userspace-tests
read -ra srcs < <(src_files userspace-tests | paste -sd' ')
key=$(inputs_key "${srcs[@]}" "$(g++ --version | head -1)")
if up_to_date "$b/.key" "$key"; then
	if [ "$run_tests" = 1 ]; then (cd "$b" && ctest --output-on-failure); fi
	exit 0
fi
mkdir -p "$b"
log "building userspace-tests (CMake, C++20)"
cmake -S "$TWA_ROOT/userspace-tests" -B "$b" -DCMAKE_BUILD_TYPE=Release >"$b/cmake.log" 2>&1 || {
	tail -20 "$b/cmake.log" >&2
	die "cmake configure failed (libgtest-dev, liburing-dev installed?)"
}
# gtest's static archive warns about getaddrinfo; nothing here uses it.
cmake --build "$b" -j"$(nproc)" >"$b/build.log" 2>&1 || {
	grep -E 'error|Error' -A3 "$b/build.log" | head -40 >&2
	die "userspace-tests build failed (full log: $b/build.log)"
}
mkdir -p "$b/guest"
cp "$b/twa-ipi-tests" "$b/twa-bench" "$b/smoke" "$b/fuzz" "$b/races" "$b/capture" \
	"$b/guest/"
echo "$key" >"$b/.key"
if [ "$run_tests" = 1 ]; then
	(cd "$b" && ctest --output-on-failure)
fi
