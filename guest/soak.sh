#!/bin/sh
# Guest program: fuzz, races and faults in a loop until MINUTES have
# passed, in one boot (scripts/soak.sh). Each program gets its twa_args_PROG
# from the kernel command line, as init gives it; fuzz gets a fresh seed a
# round. Prints "# soak round I: pass|FAIL (...)" per round and the totals
# last: fuzz writes, ENOMEM writes under failslab, items the killed
# targets held, rounds failed. Exit 1 if any round failed.
minutes=${1:-10}
end=$(($(cut -d. -f1 /proc/uptime) + minutes * 60))
round=0 failed=0 writes=0 enomem=0 killed=0
# faults' totals line, summed: queued run refused lost held killed-targets
# hotplug-cycles injected
set -- 0 0 0 0 0 0 0 0
tq=$1 tr=$2 tf=$3 tl=$4 th=$5 tk=$6 tc=$7 ti=$8
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	round=$((round + 1))
	bad=""
	for p in fuzz races faults; do
		v=twa_args_$p
		eval "a=\${$v:-}"
		if [ "$p" = fuzz ]; then
			# shellcheck disable=SC2086,SC2154 # a is a list of words, set by eval
			set -- $a
			a="${1:-20000} $round$$"
		fi
		# shellcheck disable=SC2086 # a list of words
		if ! "/twa/bin/$p" $a >/tmp/soak.out 2>&1; then
			bad="$bad $p"
			grep -E '^not ok|^# .*(seed|reproduces)' /tmp/soak.out | head -20
		fi
		case "$p" in
		fuzz) n=$(sed -n 's/^# fuzz: \([0-9]*\) writes:.*/\1/p' /tmp/soak.out) ;;
		faults)
			n=$(sed -n 's/.* writes, \([0-9]*\) failed with ENOMEM.*/\1/p' /tmp/soak.out)
			enomem=$((enomem + ${n:-0}))
			k=$(grep -c '^ok .*: [0-9]* items pending' /tmp/soak.out)
			i=$(sed -n 's/^ok .*: \([0-9]*\) items pending.*/\1/p' /tmp/soak.out | head -1)
			killed=$((killed + k * ${i:-0}))
			# shellcheck disable=SC2046 # eight numbers
			set -- $(sed -n 's/^# faults: totals: items queued \([0-9-]*\), run \([0-9-]*\), refused \([0-9-]*\), lost \([0-9-]*\); targets held \([0-9]*\), killed \([0-9]*\); hotplug cycles \([0-9]*\); allocation failures injected \([0-9]*\)$/\1 \2 \3 \4 \5 \6 \7 \8/p' /tmp/soak.out) 0 0 0 0 0 0 0 0
			tq=$((tq + $1)) tr=$((tr + $2)) tf=$((tf + $3)) tl=$((tl + $4))
			th=$((th + $5)) tk=$((tk + $6)) tc=$((tc + $7)) ti=$((ti + $8))
			n=0
			;;
		*) n=0 ;;
		esac
		writes=$((writes + ${n:-0}))
	done
	if [ -z "$bad" ]; then
		line="# soak round $round: pass"
	else
		failed=$((failed + 1))
		line="# soak round $round: FAIL ($bad )"
	fi
	echo "$line"
	echo "$line" >/dev/console # progress on the console while it runs
done
echo "# soak: $round rounds in $minutes min, $failed failed; $writes fuzz writes, $enomem ENOMEM writes under failslab, $killed items on killed targets"
echo "# soak: faults: items queued $tq, run $tr, refused $tf, lost $tl; targets held $th, killed $tk; hotplug cycles $tc; allocation failures injected $ti"
[ "$failed" = 0 ] && [ "$round" -gt 0 ]
