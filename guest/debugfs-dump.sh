#!/bin/sh
# Guest program: queue a few items to this shell and print the debugfs
# files (fixture captures for the host tests of the C++ client).
D=/sys/kernel/debug/twa_noipi
echo "queue tid=$$ mode=signal count=3" >$D/control
echo "queue tid=$$ mode=signal_no_ipi impl=backport" >$D/control
echo mark >$D/control
echo "== features"; cat $D/features
echo "== stats"; cat $D/stats
echo "== items"; cat $D/items
echo "== ipis"; cat $D/ipis
echo "== ipi_senders"; cat $D/ipi_senders
