#!/usr/bin/env bash
# Which of the shim's three cases a kernel is, read from the kernel itself
# (its headers and Module.symvers, as include/shim/Kbuild.include reads
# them, never its name or version), and whether a consumer module built
# through the shim depends on what that case says.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/consumer-case.sh [--ko MODULE.ko] SRC KDIR

SRC: the kernel's source headers (holding include/linux/task_work.h: a
Debian kernel's -common headers, a built kernel's tree); KDIR: its build
tree (holding Module.symvers). Prints one line:
  case=a|b|c native_no_ipi=yes|no task_work_add=exported|none
    a: TWA_SIGNAL_NO_IPI native and task_work_add() exported: the shim
       adds nothing, a consumer depends on no module of ours
    b: no native TWA_SIGNAL_NO_IPI: the shim's comes from twa_noipi
    c: task_work_add() not exported: the shim's comes from twa_noipi
       (whether or not the mode is native)
With --ko, adds depends='...' (its modinfo) and fails (exit 1) unless it
is '' in case a and 'twa_noipi' in cases b and c.
USAGE
}
ko=""
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--ko) ko=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
src=$1 kdir=$2
[ -f "$src/include/linux/task_work.h" ] || die "no include/linux/task_work.h under $src"
[ -f "$kdir/Module.symvers" ] || die "no Module.symvers in $kdir"

native=no via=none
grep -qE '\bTWA_SIGNAL_NO_IPI\b' "$src/include/linux/task_work.h" && native=yes
awk '$2 == "task_work_add" { f = 1 } END { exit !f }' "$kdir/Module.symvers" && via=exported
if [ "$via" = none ]; then
	c=c
elif [ "$native" = no ]; then
	c=b
else
	c=a
fi
line="case=$c native_no_ipi=$native task_work_add=$via"
if [ -z "$ko" ]; then
	echo "$line"
	exit 0
fi
need_cmds modinfo:kmod
deps=$(modinfo -F depends "$ko")
want=twa_noipi
[ "$c" != a ] || want=""
echo "$line depends='$deps'"
[ "$deps" = "$want" ] || die "$(basename "$ko"): modinfo depends '$deps', but case $c wants '$want'"
