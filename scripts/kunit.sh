#!/usr/bin/env bash
# Run the twa-noipi KUnit suites on KUnit kernels built from Debian's
# sources, and judge each suite's KTAP on the host.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/kunit.sh [--flavour kunit|debug] [SERIES...]   (make kunit)

SERIES: 5.10 and/or 6.1 (default both). Builds what is missing (kernel from
linux-source-SERIES, module, suites), boots it under QEMU, loads the suites,
brings each suite's KTAP from /sys/kernel/debug/kunit/SUITE/results to the
host, parses it with the same tree's tools/testing/kunit/kunit.py parse, and
fails on a parse error or on any "not ok" or crash line (kunit.py's exit
code alone is not enough). Prints a summary per suite.
USAGE
}
flavour=kunit
series=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--flavour) flavour=$2; shift 2 ;;
	5.10 | 6.1) series+=("$1"); shift ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ ${#series[@]} -gt 0 ] || series=(5.10 6.1)
need_cmds python3:python3

rc=0
for s in "${series[@]}"; do
	k=$flavour-$s
	guest_rc=0
	"$TWA_ROOT/scripts/qemu-run.sh" --tests kunit --name kunit "$k" || guest_rc=1
	out=$TWA_BUILD/$k/runs/kunit
	res=$out/result.txt
	# shellcheck disable=SC1091
	. "$(kernel_dir "$k" 2>/dev/null)/kernel.env"
	mkdir -p "$out/ktap"
	suites=$(sed -n 's/^ktap \(.*\) begin$/\1/p' "$res" 2>/dev/null)
	[ -n "$suites" ] || { log "$k: no KTAP came back"; rc=1; continue; }
	total=0
	for suite in $suites; do
		f=$out/ktap/$suite.ktap
		sed -n "/^ktap $suite begin\$/,/^ktap $suite end\$/p" "$res" | sed '1d;$d' >"$f"
		# 5.x debugfs results lack the top-level header kunit.py wants.
		if ! head -1 "$f" | grep -qE '^K?TAP version'; then
			{ printf 'TAP version 14\n1..1\n'; cat "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
		fi
		parsed=$out/ktap/$suite.parsed
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
