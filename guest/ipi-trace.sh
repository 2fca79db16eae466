#!/bin/sh
# Guest program (diagnosis): run a test under the ipi tracepoints (6.4+)
# and print who sent IPIs to CPU 1. Usage: ipi-trace PROGRAM [ARGS...]
T=/sys/kernel/tracing
mount -t tracefs tracefs $T 2>/dev/null
if [ ! -d $T/events/ipi/ipi_send_cpu ]; then
	echo "no ipi tracepoints on this kernel"
	exec "$@"
fi
echo 1 >$T/events/ipi/ipi_send_cpu/enable
echo 1 >$T/events/ipi/ipi_send_cpumask/enable
echo 1 >$T/tracing_on
"$@"
rc=$?
echo 0 >$T/tracing_on
echo "== IPIs sent to CPU 1, by call site"
grep -E 'cpu=1 |cpumask=[0-9,-]*1' $T/trace | sed -E 's/.*callsite=([^ ]+).*callback=([^ ]+).*/\1 \2/' |
	sort | uniq -c | sort -rn
exit $rc
