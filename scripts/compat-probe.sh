#!/usr/bin/env bash
# Print the -D flags describing what the target kernel offers, read from its
# headers and Module.symvers. Called by Kbuild; usable by hand for a look.
set -euo pipefail

usage() {
	cat <<USAGE
Usage: scripts/compat-probe.sh SRCTREE OBJTREE

Prints compiler flags (-DTWA_HAVE_...) for the kernel whose source headers
are in SRCTREE and whose build output (Module.symvers) is in OBJTREE.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 2 ] || { usage >&2; exit 2; }
src=$1
obj=$2

flags=()
# TWA_SIGNAL_NO_IPI is an enum member, invisible to #ifdef.
grep -qw TWA_SIGNAL_NO_IPI "$src/include/linux/task_work.h" 2>/dev/null &&
	flags+=(-DTWA_HAVE_TWA_SIGNAL_NO_IPI)
grep -qE '^[[:space:]]+unsigned int[[:space:]]+__state;' "$src/include/linux/sched.h" 2>/dev/null &&
	flags+=(-DTWA_HAVE_TASK___STATE)
grep -qw __set_notify_signal "$src/include/linux/sched/signal.h" 2>/dev/null &&
	flags+=(-DTWA_HAVE___SET_NOTIFY_SIGNAL)
# 6.4+: the tick queues an mm_cid scan as TWA_RESUME task_work (cid_work),
# which runs whatever else is pending on the task, TWA_NONE items too.
grep -qE '^[[:space:]]+struct callback_head[[:space:]]+cid_work;' \
	"$src/include/linux/sched.h" 2>/dev/null && flags+=(-DTWA_HAVE_TASK_CID_WORK)

# Exports: the build must not link against a symbol the kernel does not
# export, and Debian's 5.10 has backports a version check would miss.
symvers=$obj/Module.symvers
for sym in task_work_add kick_process synchronize_rcu_tasks \
	tick_nohz_full_mask tick_nohz_full_running default_wake_function \
	register_kprobe; do
	if [ -f "$symvers" ] && awk -v s="$sym" '$2 == s { f = 1 } END { exit !f }' "$symvers"; then
		flags+=("-DTWA_HAVE_EXPORT_$(echo "$sym" | tr '[:lower:]' '[:upper:]')")
	fi
done
[ -f "$symvers" ] || flags+=(-DTWA_NO_SYMVERS)
echo "${flags[@]}"
