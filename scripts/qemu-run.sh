#!/usr/bin/env bash
# Boot a cached Debian kernel under QEMU with the twa-noipi initramfs, run
# guest tests, and decide pass/fail on the host from the result port.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/qemu-run.sh [options] SERIES

Boots SERIES ($TWA_SERIES_ALL) with 2 vCPUs under QEMU TCG, loads the
module, runs the guest tests, unloads, and checks the results.

  --tests "A B"     guest programs to run (default: smoke)
  --args "..."      arguments for every guest program
  --args-for P "..." arguments for guest program P only (repeatable)
  --append "..."    extra kernel command line (e.g. nohz_full=1)
  --name NAME       run name, for the output directory (default: tests)
  --timeout SEC     hard limit for the guest (default: 600)
  --smp N           vCPUs (default: 2; the tests assume CPU 1 exists)
  --follow REGEX    print guest console lines matching REGEX while it runs
  --kvm             use KVM (only where nested KVM works; never default)

Output: $TWA_BUILD/SERIES/runs/NAME/{console.log,result.txt}
Exit status 0 only if the module loaded, every test exited 0, rmmod
worked and the kernel printed no WARN/BUG/oops.
USAGE
}

prog_args=()
tests=smoke args="" append="" name=tests timeout=600 smp=2 follow="" accel="tcg,thread=multi"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--tests) tests=$2; shift 2 ;;
	--args) args=$2; shift 2 ;;
	--args-for) prog_args+=("twa_args_${2//-/_}=\"$3\""); shift 3 ;;
	--append) append=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--follow) follow=$2; shift 2 ;;
	--kvm) accel=kvm; shift ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
s=$1
series_check "$s"
need_cmds qemu-system-x86_64:qemu-system-x86 timeout:coreutils

kernel_dir_export "$s" || die "$s: no kernel"
initrd=$("$TWA_ROOT/scripts/mkinitramfs.sh" "$s")
# shellcheck disable=SC1091
. "$(kernel_dir "$s")/kernel.env"
out=$TWA_BUILD/$s/runs/$name
rm -rf "$out"
mkdir -p "$out"
console=$out/console.log
result=$out/result.txt

# Guest parameters ride on the kernel command line into init's environment.
cmdline="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 loglevel=5"
cmdline+=" twa_tests=\"$tests\""
[ -n "$args" ] && cmdline+=" twa_args=\"$args\""
[ ${#prog_args[@]} -gt 0 ] && cmdline+=" ${prog_args[*]}"
[ -n "$append" ] && cmdline+=" $append"

log "$s: booting $KRELEASE ($accel, $smp vCPUs) for: $tests"
start=$(date +%s)
rc=0
: >"$console"
timeout -s KILL "$timeout" qemu-system-x86_64 \
	-accel "$accel" -cpu max -smp "$smp" -m 1G \
	-kernel "$VMLINUZ" -initrd "$initrd" -append "$cmdline" \
	-display none -monitor none -no-reboot \
	-serial "file:$console" -serial "file:$result" </dev/null &
qemu=$!
if [ -n "$follow" ]; then
	# Progress while the guest runs; tail ends by itself when QEMU does.
	tail --pid="$qemu" -n +1 -F "$console" 2>/dev/null |
		grep --line-buffered -E "$follow" | sed -u 's/\r$//; s/^/[guest] /' >&2 &
fi
wait "$qemu" || rc=$?
wait
secs=$(($(date +%s) - start))
tr -d '\r' <"$result" >"$result.tmp" && mv "$result.tmp" "$result"

fail() {
	log "$s: FAIL: $*"
	log "--- last 40 lines of the guest console ($console) ---"
	tr -d '\r' <"$console" | tail -40 >&2
	log "--- result port ($result) ---"
	tail -20 "$result" >&2
	exit 1
}
[ "$rc" = 137 ] && fail "guest killed after ${timeout}s"
[ "$rc" = 0 ] || fail "qemu exited $rc"
grep -q '^end$' "$result" || fail "guest did not finish (panic or crash?)"
grep -q '^insmod ok$' "$result" || fail "module did not load"
grep -q '^kernel-splat$' "$result" && fail "kernel printed a WARN/BUG/oops"
grep -q '^kmemleak-hit$' "$result" && fail "kmemleak found unreferenced objects"
if grep -qE 'WARNING:|BUG:|Oops|Call Trace|general protection|Kernel panic' "$console"; then
	fail "kernel printed a WARN/BUG/oops/panic"
fi
for t in $tests; do
	# GoogleTest XML travels on the result port; keep it as a file.
	sed -n "/^xml $t begin\$/,/^xml $t end\$/p" "$result" | sed '1d;$d' >"$out/$t.xml"
	[ -s "$out/$t.xml" ] || rm -f "$out/$t.xml"
	verdict=$(sed -n "/^test $t begin\$/,/^test $t rc=/p" "$result" |
		grep -E '^# smoke:|^# repeat:|^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ test|^# twa_noipi_[a-z]+: pass:' |
		paste -sd' ' - || true)
	log "$s: $t: ${verdict:-no summary}"
	grep -q "^test $t rc=0$" "$result" || fail "guest test $t failed"
done
grep -q '^rmmod ok$' "$result" || fail "rmmod failed"
log "$s: PASS ($tests) in ${secs}s; results in $out"
