#!/usr/bin/env bash
# Style and static-analysis gates: zero findings, or a committed,
# commented suppression for each.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/check.sh   (make check)

  checkpatch    checkpatch.pl --strict --no-tree -f on module/, include/,
                kunit/ and examples/ (from Debian's linux-source-6.1)
  sparse        the module built with C=2 against Debian 6.1 headers
  shellcheck    every script
  clang-format  the C++ against .clang-format (--dry-run --Werror)
  clang-tidy    the C++ against userspace-tests/.clang-tidy
Ends with "N passed, N failed"; exit status 1 on any finding.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
need_cmds sparse:sparse shellcheck:shellcheck clang-format:clang-format \
	clang-tidy:clang-tidy cmake:cmake

passed=0 failed=0
gate() {
	local name=$1
	shift
	log "=== check: $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		log "=== check: $name: FINDINGS"
	fi
}

kernel_c() { (cd "$TWA_ROOT" && find module include kunit examples -name '*.[ch]' | sort); }

run_checkpatch() {
	local files
	mapfile -t files < <(kernel_c)
	"$TWA_ROOT/scripts/checkpatch.sh" "${files[@]}"
}

# sparse over a scratch copy built against the 6.1 headers; any line it
# prints about our sources is a finding.
run_sparse() {
	local env out log
	env=$(kernel_dir 6.1)/kernel.env || return 1
	# shellcheck disable=SC1090 # KDIR comes from kernel.env
	. "$env"
	out=$TWA_BUILD/sparse
	rm -rf "$out"
	mkdir -p "$out"
	(cd "$TWA_ROOT" && tar -cf - Kbuild module include kunit scripts/compat-probe.sh) |
		tar -xf - -C "$out"
	log=$out/sparse.log
	# shellcheck disable=SC2153
	make -C "$KDIR" M="$out" CC=gcc C=2 CHECK=sparse modules >"$log" 2>&1 || {
		tail -20 "$log" >&2
		return 1
	}
	if grep -E "^$out/.*(warning|error):" "$log" >&2; then
		return 1
	fi
	log "sparse: $(grep -c '  CHECK' "$log") files clean"
}

run_shellcheck() {
	shellcheck -x "$TWA_ROOT"/scripts/*.sh "$TWA_ROOT"/guest/*.sh "$TWA_ROOT/guest/init" \
		"$TWA_ROOT/.ci/run"
}

cxx_files() { find "$TWA_ROOT/userspace-tests" -name '*.cpp' -o -name '*.hpp' | sort; }

run_clang_format() {
	local files
	mapfile -t files < <(cxx_files)
	clang-format --dry-run --Werror "${files[@]}"
}

run_clang_tidy() {
	local files b=$TWA_BUILD/userspace-tests
	"$TWA_ROOT/scripts/build-userspace.sh" || return 1
	mapfile -t files < <(find "$TWA_ROOT/userspace-tests" -name '*.cpp' | sort)
	clang-tidy --quiet -p "$b" "${files[@]}" 2>/dev/null
}

gate checkpatch run_checkpatch
gate sparse run_sparse
gate shellcheck run_shellcheck
gate clang-format run_clang_format
gate clang-tidy run_clang_tidy
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
