#!/bin/sh
# Guest program: capture what the host tests parse, from this kernel, into
# $TWA_OUT, flat, as the harness carries files (scripts/capture-fixtures.sh
# files them under userspace-tests/fixtures/): /proc/interrupts, and the
# module's debugfs files after a few items queued to this shell.
out=${TWA_OUT:?}
D=/sys/kernel/debug/twa_noipi
cat /proc/interrupts >"$out/interrupts.txt" || exit 1
echo "queue tid=$$ mode=signal count=3" >$D/control || exit 1
echo "queue tid=$$ mode=signal_no_ipi impl=backport" >$D/control || exit 1
echo mark >$D/control || exit 1
for f in features stats items ipis ipi_senders; do
	cat "$D/$f" >"$out/debugfs-$f" || exit 1
done
echo "# capture: interrupts.txt and debugfs-* written"
