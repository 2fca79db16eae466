#!/usr/bin/env bash
# The shim's decisions on kernels the matrix does not have: a probe module
# built through include/shim/ against one kernel's headers, with some of
# what Kbuild.include found there taken away, must link against what that
# case says, or fail to build with the shim's reason.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/shim-test.sh [KERNEL]

Builds twa_noipi for KERNEL (default: $TWA_KERNEL_DEFAULT, a kernel with
native TWA_SIGNAL_NO_IPI and task_work_add() exported) in a scratch copy,
then a probe calling task_work_add(..., TWA_SIGNAL_NO_IPI) (and, where
said, __set_notify_signal() and set_notify_signal()) through the shim,
once per case below, with the -DTWA_SHIM_* flags named dropped:
  as-is         nothing dropped:            depends ''
  notify        + the notify calls:         depends twa_noipi
  no-native     KERNEL_TWA_SIGNAL_NO_IPI:   depends twa_noipi
  no-export     EXPORT_TASK_WORK_ADD:       depends twa_noipi
  unreachable   + EXPORT_REGISTER_KPROBE:   error naming task_work_add()
  no-backport   KERNEL_TWA_SIGNAL_NO_IPI, EXPORT_KICK_PROCESS: error
  no-notify     EXPORT_KICK_PROCESS, + the notify calls: error
Exit status 1 if any case does otherwise.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
k=${1:-$TWA_KERNEL_DEFAULT}
manifest_load "$k"
KDIR=$M_KDIR
# The cases take away from what a case (a) kernel has.
# shellcheck disable=SC2153 # M_KEY variables are manifest_load's
case_line=$("$TWA_ROOT/scripts/consumer-case.sh" "${M_KSRC:-$KDIR}" "$KDIR")
[[ "$case_line" == case=a* ]] || die "$k is not a case (a) kernel ($case_line)"
out=$TWA_BUILD/shim-test/$k
rm -rf "$out"
mkdir -p "$out/mod"
# shellcheck disable=SC2086 # a list of paths
(cd "$TWA_ROOT" && tar -cf - $TWA_MODULE_SRC) | tar -xf - -C "$out/mod"
cc=CC=$M_CC
make -C "$KDIR" M="$out/mod" "$cc" -j"$(nproc)" modules >"$out/mod.log" 2>&1 || {
	tail -20 "$out/mod.log" >&2
	die "$k: twa_noipi does not build (log: $out/mod.log)"
}

# probe NAME "FLAGS DROPPED" NOTIFY(0|1) EXPECT: EXPECT is "depends=LIST"
# or "error=REGEX" (grep -E on the build's output).
rc=0
probe() {
	local name=$1 drop=$2 notify=$3 want=$4 d=$out/$1 got
	mkdir -p "$d"
	cat >"$d/probe.c" <<'C'
// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/task_work.h>

static struct callback_head probe_cb;

static void probe_func(struct callback_head *cb)
{
}

static int __init probe_init(void)
{
	init_task_work(&probe_cb, probe_func);
#ifdef PROBE_NOTIFY
	if (__set_notify_signal(current))
		set_notify_signal(current);
#endif
	return task_work_add(current, &probe_cb, TWA_SIGNAL_NO_IPI);
}
module_init(probe_init);
MODULE_LICENSE("GPL");
C
	cat >"$d/Kbuild" <<KBUILD
include $out/mod/include/shim/Kbuild.include
# What this case takes away from what the kernel has.
NOSTDINC_FLAGS := \$(filter-out $(for f in $drop; do printf -- '-DTWA_SHIM_%s ' "$f"; done),\$(NOSTDINC_FLAGS))
ccflags-y += $([ "$notify" = 0 ] || echo -DPROBE_NOTIFY)
obj-m += probe.o
KBUILD
	if make -C "$KDIR" M="$d" "$cc" TWA_NOIPI_SYMVERS="$out/mod/Module.symvers" modules \
		>"$d/build.log" 2>&1; then
		got="depends=$(modinfo -F depends "$d/probe.ko")"
		grep -q 'warning:' "$d/build.log" && got="$got (with warnings)"
	else
		got="build failed"
		[[ "$want" != error=* ]] || ! grep -qE "error: .*${want#error=}" "$d/build.log" ||
			got=$want
	fi
	if [ "$got" = "$want" ]; then
		log "shim-test $k $name: $got"
	else
		log "shim-test $k $name: FAIL: $got, expected $want (log: $d/build.log)"
		rc=1
	fi
}
need_cmds modinfo:kmod
probe as-is "" 0 "depends="
probe notify "" 1 "depends=twa_noipi"
probe no-native "KERNEL_TWA_SIGNAL_NO_IPI" 0 "depends=twa_noipi"
probe no-export "EXPORT_TASK_WORK_ADD" 0 "depends=twa_noipi"
probe unreachable "EXPORT_TASK_WORK_ADD EXPORT_REGISTER_KPROBE" 0 \
	"error=does not export task_work_add\(\) and twa_noipi cannot reach it"
probe no-backport "KERNEL_TWA_SIGNAL_NO_IPI EXPORT_KICK_PROCESS" 0 \
	"error=cannot backport TWA_SIGNAL_NO_IPI"
probe no-notify "EXPORT_KICK_PROCESS" 1 "error=call wake_up_state\(\), which it does not export"
exit "$rc"
