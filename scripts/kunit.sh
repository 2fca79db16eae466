#!/usr/bin/env bash
# Run the twa-noipi KUnit suites on KUnit kernels built from Debian's
# sources, and judge each suite's KTAP on the host.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/kunit.sh [--parse RUN] [KERNEL...]   (make kunit)

KERNEL: kernels whose TESTS include kunit (default: all of them, now:
$(kernels_with kunit | paste -sd' ')). Builds what is missing (kernel from its
linux-source package, module, suites), boots it under QEMU, loads the
suites, brings each suite's KTAP from /sys/kernel/debug/kunit/SUITE/results
to the host, parses it with the same tree's tools/testing/kunit/kunit.py
parse, and fails on a parse error or on any "not ok" or crash line
(kunit.py's exit code alone is not enough). Prints a summary per suite.

--parse RUN  do not boot: judge the KTAP a run named RUN of the guest
             program "kunit" brought back (make test runs it in the same
             boot as the other guest programs where a kernel has both).
USAGE
}
run=""
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--parse) run=$2; shift 2 ;;
-*) usage >&2; exit 2 ;;
esac
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || read -ra kernels < <(kernels_with kunit | paste -sd' ')
need_cmds python3:python3

rc=0
for k in "${kernels[@]}"; do
	guest_rc=0
	if [ -z "$run" ]; then
		"$TWA_ROOT/scripts/qemu-run.sh" --tests kunit --name kunit "$k" || guest_rc=1
	fi
	out=$TWA_BUILD/$k/runs/${run:-kunit}
	[ -f "$TWA_BUILD/$k/kernel.env" ] || { rc=1; continue; }
	# shellcheck disable=SC1090,SC1091
	. "$TWA_BUILD/$k/kernel.env"
	[ -n "${KSRC:-}" ] || { log "$k: no kernel source tree to parse KTAP with"; rc=1; continue; }
	shopt -s nullglob
	ktaps=("$out"/files/kunit/*.ktap)
	shopt -u nullglob
	[ ${#ktaps[@]} -gt 0 ] || { log "$k: no KTAP came back"; rc=1; continue; }
	total=0
	for f in "${ktaps[@]}"; do
		suite=$(basename "$f" .ktap)
		# 5.x debugfs results lack the top-level header kunit.py wants.
		if ! head -1 "$f" | grep -qE '^K?TAP version'; then
			{ printf 'TAP version 14\n1..1\n'; cat "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
		fi
		parsed=$out/files/kunit/$suite.parsed
		(cd "$KSRC" && python3 tools/testing/kunit/kunit.py parse "$f") 2>&1 |
			sed 's/\x1b\[[0-9;]*m//g' >"$parsed"
		prc=${PIPESTATUS[0]}
		pass=$(grep -cE '^ +ok [0-9]+ ' "$f")
		fail=$(grep -cE '^ +not ok [0-9]+ ' "$f")
		skip=$(grep -cE '^ +ok [0-9]+ .*# SKIP' "$f")
		total=$((total + pass + fail))
		verdict=ok
		if [ "$prc" != 0 ] || [ "$fail" != 0 ] || grep -qE 'not ok|CRASHED|crashed: [1-9]|[1-9][0-9]* crashed|could not parse|no tests run' "$f" "$parsed"; then
			verdict=FAILED
			rc=1
			grep -E 'FAILED|CRASHED|ERROR|EXPECTATION|not ok' "$parsed" "$f" | head -20 >&2
		fi
		log "$k: $suite: $verdict: $((pass - skip)) passed, $fail failed, $skip skipped ($(tail -1 "$parsed" | sed 's/^\[[0-9:]*\] //'))"
	done
	log "$k: $total test cases"
	[ "$guest_rc" = 0 ] || rc=1
done
exit "$rc"
