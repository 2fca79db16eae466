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
(kunit.py's exit code alone is not enough), except a crash that is only
trailing "ok" lines cut from a full case log, which the kernel's totals line
vouches for. Prints a summary per suite.

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

# A suite whose KTAP was cut, judged on the kernel's totals instead. On 6.1
# (5.10 too) each case's log in debugfs is KUNIT_LOG_SIZE (512) bytes: a
# case that logs more loses the rest, its own "ok N" line with it, and
# kunit.py parses the suite as CRASHED (a missing expected subtest) though
# the case passed. The suite's totals line, "# SUITE: pass:P fail:F skip:S
# total:T" in a log of its own (6.x; 5.10 has none), counts the cases'
# statuses, not their log lines. It is trusted only when a cut is all there
# is to explain: it says fail:0 and total equal to the suite's "1..N" plan
# (a "# Totals:" line, if any, says fail:0 too), the suite's "ok 1 SUITE"
# is there, no "not ok" anywhere, the ok lines left are 1..K in order (the
# last ones lost), and kunit.py's errors are each a missing expected
# subtest, one per lost line. A real crash leaves no totals line or one
# that disagrees (a timed-out or oopsing case counts as failed), so it
# still fails. Prints "PASS SKIP TOTAL" from the totals line if trusted.
cut_log_totals() {
	local f=$1 parsed=$2 suite=$3 plan line pass fail skip tot n i errs
	local -a nums
	plan=$(sed -nE 's/^ +1\.\.([0-9]+)$/\1/p' "$f" | head -1)
	[ -n "$plan" ] || return 1
	grep -q 'not ok' "$f" && return 1
	grep -qxE "ok 1 (- )?$suite" "$f" || return 1
	# Matched anywhere in a line: after a cut, the first line of the
	# suite's log is glued to the cut one (which lost its newline).
	line=$(grep -oE "# $suite: pass:[0-9]+ fail:[0-9]+ skip:[0-9]+ total:[0-9]+\$" "$f")
	[ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || return 1
	[[ $line =~ pass:([0-9]+)\ fail:([0-9]+)\ skip:([0-9]+)\ total:([0-9]+)$ ]] || return 1
	pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]} skip=${BASH_REMATCH[3]} tot=${BASH_REMATCH[4]}
	if [ "$fail" != 0 ] || [ "$tot" != "$plan" ] || [ $((pass + skip)) != "$tot" ]; then
		return 1
	fi
	grep '# Totals: ' "$f" | grep -vqE '# Totals: pass:[0-9]+ fail:0 skip:[0-9]+ total:[0-9]+$' &&
		return 1
	mapfile -t nums < <(sed -nE 's/^ +ok ([0-9]+)( .*)?$/\1/p' "$f")
	n=${#nums[@]}
	[ "$n" -lt "$plan" ] || return 1
	for ((i = 0; i < n; i++)); do
		[ "${nums[i]}" = $((i + 1)) ] || return 1
	done
	errs=$(grep -c '\[ERROR\]' "$parsed")
	[ "$errs" = $((plan - n)) ] || return 1
	grep '\[ERROR\]' "$parsed" | grep -vq 'missing expected subtest!$' && return 1
	echo "$pass $skip $tot"
}

rc=0
for k in "${kernels[@]}"; do
	guest_rc=0
	if [ -z "$run" ]; then
		"$TWA_ROOT/scripts/qemu-run.sh" --tests kunit --name kunit "$k" || guest_rc=1
	fi
	out=$TWA_BUILD/$k/runs/${run:-kunit}
	[ -f "$(manifest_file "$k")" ] || { rc=1; continue; }
	KSRC=$(manifest_key "$k" KSRC)
	[ -n "$KSRC" ] || { log "$k: no kernel source tree to parse KTAP with"; rc=1; continue; }
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
		verdict=ok
		if [ "$prc" != 0 ] || [ "$fail" != 0 ] || grep -qE 'not ok|CRASHED|crashed: [1-9]|[1-9][0-9]* crashed|could not parse|no tests run' "$f" "$parsed"; then
			if totals=$(cut_log_totals "$f" "$parsed" "$suite"); then
				lost=$((${totals##* } - pass))
				read -r pass skip _ <<<"$totals"
				pass=$((pass + skip))	# ok lines, skipped ones included
				verdict="ok on the kernel's totals ($lost ok line(s) cut from the log)"
			else
				verdict=FAILED
				rc=1
				grep -E 'FAILED|CRASHED|ERROR|EXPECTATION|not ok' "$parsed" "$f" | head -20 >&2
			fi
		fi
		total=$((total + pass + fail))
		log "$k: $suite: $verdict: $((pass - skip)) passed, $fail failed, $skip skipped ($(tail -1 "$parsed" | sed 's/^\[[0-9:]*\] //'))"
	done
	log "$k: $total test cases"
	[ "$guest_rc" = 0 ] || rc=1
done
exit "$rc"
