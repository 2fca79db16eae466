#!/bin/sh
# Guest program: run guest programs back to back, N times, in one boot.
# Usage: repeat N PROG... Prints "# repeat run I: pass|FAIL" per run (with
# the failing program's output) and "# repeat: P passed, F failed" last.
# Each PROG gets its twa_args_PROG (dashes as underscores) from the kernel
# command line, as init gives it.
n=$1
shift
pass=0 fail=0 i=1
while [ "$i" -le "$n" ]; do
	ok=1
	for p in "$@"; do
		v=twa_args_$(echo "$p" | tr - _)
		eval "a=\${$v:-}"
		# shellcheck disable=SC2086,SC2154 # a is a list of words, set by eval
		if ! "/twa/bin/$p" $a >/tmp/repeat.out 2>&1; then
			ok=0
			echo "# repeat run $i: $p failed"
			grep -E 'Failure|Expected|actual|Which is|FAILED|^not ok|^# (ipi|consumer|uring|sender)' \
				/tmp/repeat.out
		fi
	done
	if [ "$ok" = 1 ]; then
		pass=$((pass + 1))
		line="# repeat run $i: pass"
	else
		fail=$((fail + 1))
		line="# repeat run $i: FAIL"
	fi
	echo "$line"
	echo "$line" >/dev/console # progress on the console while it runs
	i=$((i + 1))
done
echo "# repeat: $pass passed, $fail failed"
[ "$fail" = 0 ]
