#!/bin/sh
# shellcheck shell=dash
# Guest program: the example consumer (examples/consumer/), upstream code
# built through include/shim/. What it needs of twa_noipi is its modinfo
# depends, which the build checked against the kernel's case
# (scripts/consumer-case.sh): nothing where the kernel has
# TWA_SIGNAL_NO_IPI and exports task_work_add(), twa_noipi elsewhere.
#
# Needing nothing, it is loaded with twa_noipi unloaded and its items must
# run so; twa_noipi is then loaded after it only as a second observer, for
# the IPI counts its kprobes keep on the architecture's send functions
# whoever calls them, and must not become a holder of it. Then, on every
# kernel: 100 NO_IPI items to a spinner on CPU 1, no kick sent
# (twa-ipi-tests Consumer.*); rmmod refused while an item is pending; once
# none is, rmmod done where the kernel can make it safe and refused where
# it cannot (twa_noipi's features "unload_sync" is twa_noipi's own verdict
# on the same question, for itself).
ko=/twa/twa_consumer.ko
D=/sys/kernel/debug/twa_consumer
F=/sys/kernel/debug/twa_noipi/features
rc=0
fail() {
	echo "consumer: FAIL: $*"
	rc=1
}
# wait_for SECONDS CMD...: until CMD succeeds, polling; 1 if it never does.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
# shellcheck disable=SC2317 # called through wait_for
pending_is() { [ "$(cat "$D"/pending)" = "$1" ]; }
# shellcheck disable=SC2317 # called through wait_for
run_is() { [ "$(cat "$D"/run)" = "$1" ]; }

# busybox modinfo reads this kernel's modules.dep first; the guest has none.
mkdir -p "/lib/modules/$(uname -r)"
: >>"/lib/modules/$(uname -r)/modules.dep"
deps=$(modinfo -F depends "$ko") || {
	echo "consumer: modinfo $ko failed"
	exit 1
}
echo "consumer: modinfo depends '$deps'"

if [ -z "$deps" ]; then
	if [ -d /sys/module/twa_noipi ] && ! rmmod twa_noipi; then
		echo "consumer: FAIL: cannot unload twa_noipi to run without it"
		exit 1
	fi
	insmod "$ko" || {
		echo "consumer: FAIL: cannot load $ko without twa_noipi"
		exit 1
	}
	[ ! -d /sys/module/twa_noipi ] || fail "twa_noipi is loaded"
	# A spinner in user space on CPU 1: each item runs at its next
	# kernel entry (a tick), as TWA_SIGNAL_NO_IPI promises.
	taskset -c 1 sh -c 'while :; do :; done' &
	spin=$!
	i=0
	while [ "$i" -lt 10 ]; do
		echo "$spin" >"$D"/queue || fail "queue to the spinner failed"
		i=$((i + 1))
		wait_for 10 run_is "$i" || fail "item $i did not run (run $(cat "$D"/run))"
	done
	kill "$spin"
	wait "$spin" 2>/dev/null
	echo "consumer: without twa_noipi: $(cat "$D"/run) of 10 items ran, twa_noipi $([ -d /sys/module/twa_noipi ] && echo loaded || echo not loaded)"
	# The second observer, loaded after it.
	insmod /twa/twa_noipi.ko || {
		echo "consumer: FAIL: cannot load twa_noipi after it"
		exit 1
	}
	[ ! -e /sys/module/twa_noipi/holders/twa_consumer ] ||
		fail "twa_noipi holds twa_consumer"
else
	insmod "$ko" || {
		echo "consumer: FAIL: cannot load $ko"
		exit 1
	}
	[ -e "/sys/module/twa_noipi/holders/twa_consumer" ] ||
		fail "depends '$deps', yet twa_noipi does not hold twa_consumer"
fi

/twa/bin/twa-ipi-tests --gtest_filter='Consumer.*' || rc=1

# rmmod while an item is pending: a stopped task is no interruptible
# sleeper, so the item waits until the task is killed (and runs as it
# exits).
sleep 1000 &
stopped=$!
kill -STOP "$stopped"
# shellcheck disable=SC2317 # called through wait_for
stopped_state() { [ "$(cut -d' ' -f3 "/proc/$stopped/stat")" = T ]; }
wait_for 5 stopped_state || fail "task $stopped did not stop"
echo "$stopped" >"$D"/queue || fail "queue to the stopped task failed"
pending_is 1 || fail "pending $(cat "$D"/pending), not 1"
if rmmod twa_consumer 2>/dev/null; then
	fail "rmmod with an item pending succeeded"
	exit 1
fi
echo "consumer: rmmod with an item pending: refused"
kill -KILL "$stopped"
wait "$stopped" 2>/dev/null
wait_for 10 pending_is 0 || fail "the pending item did not run as its task exited"

unload=$(sed -n 's/^unload_sync //p' "$F")
if [ "$unload" = "none (rmmod refused)" ]; then
	if rmmod twa_consumer 2>/dev/null; then
		fail "rmmod succeeded where unload cannot be made safe"
	else
		echo "consumer: rmmod refused (no exit function: preemptible, no RCU-tasks)"
	fi
else
	rmmod twa_consumer || fail "rmmod with nothing pending failed (twa_noipi waits with $unload)"
fi
exit $rc
