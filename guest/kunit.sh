#!/bin/sh
# Guest program: load KUnit and the twa-noipi suites (which run at load),
# then leave each suite's KTAP from debugfs in $TWA_OUT for the host.
insmod /twa/kunit.ko || { echo "cannot load kunit.ko"; exit 1; }
insmod /twa/twa_noipi_kunit.ko || { echo "cannot load twa_noipi_kunit.ko"; exit 1; }
rc=0
for d in /sys/kernel/debug/kunit/twa_noipi_*; do
	[ -f "$d/results" ] || { echo "no results in $d"; rc=1; continue; }
	suite=${d##*/}
	cp "$d/results" "$TWA_OUT/$suite.ktap"
	grep -q 'not ok' "$d/results" && rc=1
	echo "$suite: $(grep -c '^ *ok ' "$d/results") ok, $(grep -c '^ *not ok ' "$d/results") not ok"
done
[ -e /sys/kernel/debug/kunit/twa_noipi_notify ] || { echo "suites missing"; rc=1; }
rmmod twa_noipi_kunit
rmmod kunit
exit $rc
