#!/usr/bin/env bash
# Build the C++ user-space library, host unit tests and static guest tests.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-userspace.sh [--test] [--arch arm64]

Configures and builds userspace-tests/ with CMake into
$TWA_BUILD/userspace-tests and stages the static guest binaries in
$TWA_BUILD/userspace-tests/guest/ for the initramfs.
--test        also run the host-side unit tests (ctest).
--arch arm64  cross-build the guest programs only, into
              $TWA_BUILD/userspace-tests-arm64/guest/, with
              aarch64-linux-gnu-g++ and GoogleTest and liburing from
              Debian's arm64 -dev packages (fetched into the cache with
              apt-get download, scripts/lib.sh guest_sysroot).
USAGE
}
run_tests=0 arch=x86_64
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--test) run_tests=1; shift ;;
	--arch) arch=${2:-}; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done
cmake_args=(-DCMAKE_BUILD_TYPE=Release) b=$TWA_BUILD/userspace-tests cxx=g++
case "$arch" in
x86_64) need_cmds cmake:cmake g++:g++ ctest:cmake ;;
arm64)
	[ "$run_tests" = 0 ] || die "--test runs the host tests: not with --arch arm64"
	need_cmds cmake:cmake aarch64-linux-gnu-g++:g++-aarch64-linux-gnu
	sysroot=$(guest_sysroot arm64)
	b=$TWA_BUILD/userspace-tests-arm64 cxx=aarch64-linux-gnu-g++
	cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$TWA_ROOT/userspace-tests/cmake/aarch64-linux-gnu.cmake"
		-DTWA_SYSROOT="$sysroot" -DTWA_HOST_TESTS=OFF)
	;;
*) die "--arch: x86_64 or arm64, not '$arch'" ;;
esac

read -ra srcs < <(src_files userspace-tests | paste -sd' ')
# (Paths in the clone as relative ones: the key, and the cache's artefact,
# must not depend on where the clone is.)
key=$(inputs_key "${srcs[@]}" "$("$cxx" --version | head -1)" "${cmake_args[@]//"$TWA_ROOT"/.}")
if up_to_date "$b/.key" "$key"; then
	if [ "$run_tests" = 1 ]; then (cd "$b" && ctest --output-on-failure); fi
	exit 0
fi
# The guest programs alone, built before from these sources (another
# clone): the cache's. The host tests are built in every clone (they read
# their fixtures from it).
# (Their own stamp: a --test after it still builds the tests.)
if [ "$run_tests" = 0 ] && up_to_date "$b/.guest-key" "$key"; then
	exit 0
fi
if [ "$run_tests" = 0 ] && artefact_get "guest-$arch" "$key" "$b/guest"; then
	log "userspace-tests ($arch): the guest programs, as built before from these sources (the cache's)"
	echo "$key" >"$b/.guest-key"
	exit 0
fi
mkdir -p "$b"
log "building userspace-tests (CMake, C++20, $arch)"
cmake -S "$TWA_ROOT/userspace-tests" -B "$b" "${cmake_args[@]}" >"$b/cmake.log" 2>&1 || {
	tail -20 "$b/cmake.log" >&2
	die "cmake configure failed (libgtest-dev, liburing-dev installed?)"
}
# gtest's static archive warns about getaddrinfo; nothing here uses it.
cmake --build "$b" -j"$(nproc)" >"$b/build.log" 2>&1 || {
	grep -E 'error|Error' -A3 "$b/build.log" | head -40 >&2
	die "userspace-tests build failed (full log: $b/build.log)"
}
mkdir -p "$b/guest"
cp "$b/twa-ipi-tests" "$b/twa-bench" "$b/smoke" "$b/fuzz" "$b/races" "$b/capture" "$b/faults" \
	"$b/guest/"
artefact_put "guest-$arch" "$key" "$b"/guest/*
echo "$key" >"$b/.key"
if [ "$run_tests" = 1 ]; then
	(cd "$b" && ctest --output-on-failure)
fi
