#!/usr/bin/env bash
# Boot a cached Debian kernel under QEMU with the twa-noipi initramfs, run
# guest tests, and decide pass/fail on the host from the result port.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/qemu-run.sh [options] KERNEL

Boots KERNEL (any of: $(kernels_all | paste -sd' ')) with 2 vCPUs under
QEMU TCG, loads the module, runs the guest programs one after another,
unloads, and judges the run. What the boot needs is built first by
scripts/mkinitramfs.sh (nothing, if nothing changed).

Every guest program exits 0 (pass), 1 (fail) or 77 (skip); files it leaves
in \$TWA_OUT come back under the run's files/PROG/.

  --tests "A B"     guest programs to run (default: smoke)
  --args "..."      arguments for every guest program
  --args-for P "..." arguments for guest program P only (repeatable)
  --append "..."    extra kernel command line (e.g. nohz_full=1)
  --name NAME       run name, for the output directory (default: tests)
  --timeout SEC     hard limit for the guest (default: the kernel's TIMEOUT)
  --smp N           vCPUs (default: 2; the tests assume CPU 1 exists)
  --follow REGEX    print guest console lines matching REGEX while it runs
  --kvm             use KVM (only where nested KVM works; never default)
  --refused REGEX   the module must refuse to load, with a kernel message
                    matching REGEX (grep -E); no program runs
  --built           boot what scripts/mkinitramfs.sh built already (make
                    test builds every kernel first), building nothing

Output: $TWA_BUILD/KERNEL/runs/NAME/{console.log,result.txt,files/}
Prints one line per program: its status and time. Exit status 0 only if
the module loaded, no program failed, rmmod worked, the kernel printed no
WARN/BUG/oops (a splat is named with the program that was running) and
kmemleak found nothing of ours.
A guest whose kernel reports a stall (RCU stall, soft lockup, hung task)
is stopped TWA_STALL_GRACE seconds (default 20) after it, not at the timeout.
USAGE
}

prog_args=()
refused="" built=0
tests=smoke args="" append="" name=tests timeout="" smp=2 follow="" accel="tcg,thread=multi"
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
	--refused) refused=$2; shift 2 ;;
	--built) built=1; shift ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { usage >&2; exit 2; }
k=$1
kernel_conf "$k"
timeout=${timeout:-$K_TIMEOUT}
stall_grace=${TWA_STALL_GRACE:-20}
# The machine per architecture. The result port is a second serial line:
# x86's second ISA UART (ttyS1); arm64's virt has one PL011 (the console,
# ttyAMA0), so the result port is a PCI 16550, the guest's ttyS0 (Debian's
# arm64 kernels build 8250_pci in).
case "$K_ARCH" in
x86_64)
	need_cmds qemu-system-x86_64:qemu-system-x86
	machine=(qemu-system-x86_64) console_dev=ttyS0 result_dev=/dev/ttyS1 result_pci=0
	;;
arm64)
	need_cmds qemu-system-aarch64:qemu-system-arm
	machine=(qemu-system-aarch64 -M virt) console_dev=ttyAMA0 result_dev=/dev/ttyS0 result_pci=1
	;;
esac
need_cmds timeout:coreutils

# A boot only boots where its artefacts were built already (--built:
# make test builds every kernel's first); on its own, it builds them.
dir=$TWA_BUILD/$k
if [ "$built" = 0 ]; then
	dir=$("$TWA_ROOT/scripts/mkinitramfs.sh" "$k")
fi
[ -f "$dir/initrd.gz" ] || die "$k: no initramfs in $dir (scripts/mkinitramfs.sh $k makes it)"
manifest_load "$k"
# Without the port's driver built in, the guest's results would vanish and
# the run would fail as "did not finish": say so before booting instead.
if [ "$result_pci" = 1 ]; then
	for opt in CONFIG_SERIAL_8250 CONFIG_SERIAL_8250_PCI; do
		# shellcheck disable=SC2153 # M_KEY variables are manifest_load's
		grep -qx "$opt=y" "$M_KCONFIG" ||
			die "$k: the result port is a PCI 16550 ($result_dev) and $M_KRELEASE lacks $opt=y (its config: $M_KCONFIG)"
	done
fi
out=$dir/runs/$name
rm -rf "$out"
mkdir -p "$out"
console=$out/console.log
result=$out/result.txt

# Guest parameters ride on the kernel command line into init's environment.
cmdline="console=$console_dev twa_result=$result_dev panic=-1 oops=panic panic_on_warn=1 loglevel=5"
cmdline+=" twa_tests=\"$tests\""
# Each program gets half the boot: a hung one leaves time for the rest.
cmdline+=" twa_prog_timeout=$((timeout / 2))"
[ -n "$args" ] && cmdline+=" twa_args=\"$args\""
[ ${#prog_args[@]} -gt 0 ] && cmdline+=" ${prog_args[*]}"
[ -n "$append" ] && cmdline+=" $append"

# One boot: QEMU under timeout -s KILL, with a watchdog for stalls.
boot() {
	rc=0
	: >"$console"
	: >"$result"
	rm -f "$out/stalled"
	local port=(-serial "file:$result")
	# shellcheck disable=SC2054 # commas inside QEMU's own option values
	[ "$result_pci" = 0 ] ||
		port=(-chardev "file,id=result,path=$result" -device pci-serial,chardev=result)
	timeout -s KILL "$timeout" "${machine[@]}" \
		-accel "$accel" -cpu max -smp "$smp" -m 1G \
		-kernel "$M_VMLINUZ" -initrd "$dir/initrd.gz" -append "$cmdline" \
		-display none -monitor none -no-reboot \
		-serial "file:$console" "${port[@]}" </dev/null &
	qemu=$!
	if [ -n "$follow" ]; then
		# Progress while the guest runs; tail ends by itself when QEMU does.
		tail --pid="$qemu" -n +1 -F "$console" 2>/dev/null |
			grep --line-buffered -E "$follow" | sed -u 's/\r$//; s/^/[guest] /' >&2 &
	fi
	# A stalled guest is a failed run; waiting for the timeout only costs time.
	(
		while kill -0 "$qemu" 2>/dev/null; do
			if grep -qE "$TWA_STALL_RE" "$console"; then
				sleep "$stall_grace" # let the stall's stack dumps reach the log
				grep -m1 -E "$TWA_STALL_RE" "$console" | tr -d '\r' >"$out/stalled"
				kill -TERM "$qemu" 2>/dev/null # timeout(1) passes it on to QEMU
				exit 0
			fi
			sleep 2
		done
	) &
	watchdog=$!
	wait "$qemu" || rc=$?
	kill "$watchdog" 2>/dev/null || true
	wait
}

# KVM is asked for, never assumed: a short boot of the kernel alone under
# a hard timeout must print its banner first (nested KVM has been seen to
# hang before the guest prints anything: docs/testing.md).
kvm_probe() {
	local probe=$out/kvm-probe.log
	[ -w /dev/kvm ] || die "$k: --kvm (TWA_KVM=1): /dev/kvm is missing or not writable here; run without it (TCG)"
	(timeout -s KILL "${TWA_KVM_PROBE_SECONDS:-30}" "${machine[@]}" -accel kvm -cpu host -smp 1 \
		-m 256M -kernel "$M_VMLINUZ" -append "console=$console_dev panic=-1 rdinit=/twa-kvm-probe" \
		-display none -monitor none -no-reboot -serial "file:$probe" </dev/null) >/dev/null 2>&1 || true
	grep -aq 'Linux version' "$probe" ||
		die "$k: --kvm (TWA_KVM=1): a probe boot under KVM printed nothing in ${TWA_KVM_PROBE_SECONDS:-30} s (nested KVM hangs so on some hosts; its console: $probe); run without TWA_KVM (TCG)"
	log "$k: KVM works here (a probe boot printed its banner)"
}
[ "$accel" != kvm ] || kvm_probe

what=$tests
[ -z "$refused" ] || what="a refusal to load ($refused)"
log "$k: booting $M_KRELEASE ($accel, $smp vCPUs) for: $what"
start=$(date +%s)
boot
# A crash that is the emulator's, not ours (lib.sh emulator_crash), gets
# one more boot: the first kept as console.1.log and result.1.txt, the
# reason in rebooted. A second crash fails the run like any other.
why=$(emulator_crash "$console" "$result" "$K_ARCH")
if [ -n "$why" ]; then
	mv "$console" "$out/console.1.log"
	mv "$result" "$out/result.1.txt"
	echo "$why: $(grep -m1 -aE "$TWA_SPLAT_RE" "$out/console.1.log" | tr -d '\r')" >"$out/rebooted"
	log "$k: $(cat "$out/rebooted"); console kept in $out/console.1.log; booting once more"
	boot
fi
secs=$(($(date +%s) - start))
tr -d '\r' <"$result" >"$result.tmp" && mv "$result.tmp" "$result"

fail() {
	log "$k: FAIL: $*"
	log "--- last 40 lines of the guest console ($console) ---"
	tr -d '\r' <"$console" | tail -40 >&2
	log "--- result port ($result) ---"
	tail -20 "$result" >&2
	exit 1
}
[ -s "$out/stalled" ] && fail "guest stalled, stopped ${stall_grace}s later: $(cat "$out/stalled")"
[ "$rc" = 137 ] && fail "guest killed after ${timeout}s"
[ "$rc" = 0 ] || fail "qemu exited $rc"
# The console is the witness: a guest that says it ended there but not on
# the result port lost results on the way, and no verdict can rest on them.
if ! grep -q '^end$' "$result" && tr -d '\r' <"$console" | grep -q '^twa-guest: end$'; then
	fail "the result port lost output after its line $(wc -l <"$result")" \
		"(\"$(tail -1 "$result")\"); the console shows the guest finished"
fi

# Files the programs left, framed "file PROG/NAME begin" ... "end".
unframe_files "$result" "$out/files"

# A refusal to load is the whole test: no program runs after it.
if [ -n "$refused" ]; then
	grep -qE "$TWA_SPLAT_RE" "$console" && fail "kernel splat while refusing"
	grep -q '^end$' "$result" || fail "guest did not finish (panic or crash?)"
	grep -q '^insmod failed$' "$result" || fail "the module loaded; expected a refusal: $refused"
	why=$(tr -d '\r' <"$console" | grep -m1 -E "$refused") ||
		fail "the module was refused, but with no message matching: $refused"
	log "$k: PASS in ${secs}s: refused as expected: ${why#*] }"
	exit 0
fi

# One line per program; a failed one shows the tail of its output.
failed=0
for t in $tests; do
	st=$(sed -n "s/^test $t rc=\([0-9]*\) secs=\(.*\)$/\1 \2/p" "$result")
	read -r prc psecs <<<"${st:-none -}"
	case "$prc" in
	0) verdict=pass ;;
	77) verdict=skip ;;
	none) verdict="FAIL (did not finish)" ;;
	*) verdict="FAIL (exit $prc)" ;;
	esac
	summary=$(sed -n "/^test $t begin\$/,/^test $t rc=/p" "$result" | sed '1d;$d' |
		grep -v '^$' | tail -1 || true)
	log "$k: $t: $verdict (${psecs}s) ${summary:+-- $summary}"
	case "$prc" in
	0 | 77) ;;
	*)
		failed=1
		sed -n "/^test $t begin\$/,/^test $t rc=/p" "$result" | sed '1d;$d' | tail -25 >&2
		# The checks that failed, by name, where a summary finds them: a
		# TAP "not ok" or GoogleTest's "[  FAILED  ]" may be far above the tail.
		sed -n "/^test $t begin\$/,/^test $t rc=/p" "$result" |
			grep -E '^(not ok |\[  FAILED  \] [^ ]+\.)' | head -5 |
			while IFS= read -r line; do log "$k: $t: failed check: $line"; done
		;;
	esac
done

# A splat is the kernel's verdict: name the program that was running. An
# OOM kill (the fault test asks for one) prints the killer's stack: its
# "Call Trace" from "invoked oom-killer" to "Killed process" is a report,
# not a splat; anything else in it still is.
splat=$(tr -d '\r' <"$console" | awk -v re="$TWA_SPLAT_RE" '
	/twa: test [^ ]+ begin/ { for (i = 1; i <= NF; i++) if ($i == "test") cur = $(i + 1) }
	/twa: test [^ ]+ end/ { cur = "" }
	/ invoked oom-killer: / { oom = 1 }
	oom && /Call Trace/ { next }
	/(Memory cgroup out of memory|Out of memory): Killed process / { oom = 0 }
	$0 ~ re { print (cur == "" ? "outside any program" : "during " cur) ": " $0; exit }')
[ -z "$splat" ] || fail "kernel splat $splat"
grep -q '^end$' "$result" || fail "guest did not finish (panic or crash?)"
grep -q '^insmod ok$' "$result" || fail "module did not load"
grep -q '^kmemleak-hit$' "$result" && fail "kmemleak found unreferenced objects"
[ "$failed" = 0 ] || fail "a guest program failed"
grep -q '^rmmod ok$' "$result" || fail "rmmod failed"
log "$k: PASS in ${secs}s; results in $out"
