#!/usr/bin/env bash
# make bench: twa-bench on the running kernel (bare metal, a KVM guest, a
# cloud VM), where the times are the machine's own, and the same report
# as make run's, with a section on the machine.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/bench.sh [--items N] [--ops N] [--rounds R] [--short]
                        [--queue-cpu N --target-cpu N] [--results DIR]
       (make bench [ITEMS=N] [OPS=N] [ROUNDS=R] [QUEUE_CPU=N TARGET_CPU=N])

Runs twa-bench on this machine's running kernel ($(uname -r)), as root:
  1. checks, changing nothing, that it can: root; a kernel with module
     support and module loading enabled; at least two online CPUs;
     debugfs mounted; a twa_noipi module to load (below); a kernel that
     is not locked down against it. Each refusal says why and what to do.
  2. loads twa_noipi: the one loaded already; else DKMS's (the
     twa-noipi-dkms package: modprobe twa_noipi); else one built from this
     checkout against /lib/modules/\$(uname -r)/build (the kernel's
     linux-headers package), insmod'ed. What it loaded it unloads after.
  3. picks the producer's and the target's CPUs: by default two online
     CPUs on different physical cores (not SMT siblings), the lowest such
     pair; --queue-cpu/--target-cpu choose. It prints the topology.
  4. runs twa-bench (the installed one, twa-noipi-tools, else built here)
     with the rounds of make run (--rounds, default 10; --short: 3 rounds
     of 10 items, to see that it works) and writes the report:
     DIR/<kernel-release>/report.{json,md}, the plots, bench.jsonl and
     machine.json: CPU model, SMT, cpufreq governor, mitigations,
     nohz_full, isolcpus, the kernel command line, the hypervisor if any.
     DIR: --results, default results/host/.
These are hardware figures (or a hypervisor's, which the report names);
make run's are emulated (QEMU TCG).
USAGE
}

items=100 ops=100 rounds=10 qcpu="" tcpu="" short=0
results=$TWA_ROOT/results/host
cmdline="scripts/bench.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--items) items=${2:-}; shift 2 ;;
	--ops) ops=${2:-}; shift 2 ;;
	--rounds) rounds=${2:-}; shift 2 ;;
	--short) short=1; shift ;;
	--queue-cpu) qcpu=${2:-}; shift 2 ;;
	--target-cpu) tcpu=${2:-}; shift 2 ;;
	--results) results=${2:-}; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case "$items$ops$rounds$qcpu$tcpu" in *[!0-9]*) die "--items, --ops, --rounds and the CPUs take numbers" ;; esac
if [ -n "$qcpu$tcpu" ] && { [ -z "$qcpu" ] || [ -z "$tcpu" ]; }; then
	die "--queue-cpu and --target-cpu go together"
fi
[ "$short" = 0 ] || items=10 ops=10 rounds=2

# A refusal: why, and what to do; exit status 3; nothing changed.
refuse() {
	printf '[twa] make bench cannot run here: %s\n' "$1" >&2
	[ -z "${2:-}" ] || printf '[twa] what to do: %s\n' "$2" >&2
	exit 3
}

# The online CPUs, one a line (from the kernel's list: 0-3,6).
online_cpus() {
	local r
	tr ',' '\n' </sys/devices/system/cpu/online | while read -r r; do
		case "$r" in *-*) seq "${r%-*}" "${r#*-}" ;; ?*) echo "$r" ;; esac
	done
}
# CPU N's physical core, as package:core.
cpu_core() {
	local t=/sys/devices/system/cpu/cpu$1/topology
	echo "$(cat "$t/physical_package_id" 2>/dev/null || echo 0):$(cat "$t/core_id" 2>/dev/null || echo "$1")"
}

# The lowest pair of online CPUs on different physical cores; else (every
# online CPU one core's SMT siblings) the lowest two, said so.
pick_cpus() {
	local -a cpus
	local a b
	mapfile -t cpus < <(online_cpus)
	for a in "${cpus[@]}"; do
		for b in "${cpus[@]}"; do
			[ "$b" -gt "$a" ] || continue
			if [ "$(cpu_core "$a")" != "$(cpu_core "$b")" ]; then
				echo "$a $b different physical cores"
				return
			fi
		done
	done
	echo "${cpus[0]} ${cpus[1]} SMT siblings of one core (no two cores online)"
}

# 1. Can it run here? Nothing is changed before every answer is yes.
[ "$(uname -s)" = Linux ] || refuse "not Linux" "run it on a Linux machine"
[ -e /proc/modules ] || refuse "this kernel ($(uname -r)) has no module support (no /proc/modules: CONFIG_MODULES is not set), and twa-noipi is a module" \
	"run it on a kernel with module support, or run make run (the bench under QEMU, on a Debian kernel)"
[ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null || echo 0)" = 0 ] ||
	refuse "module loading is disabled (kernel.modules_disabled = 1, which only a reboot clears)" \
		"reboot without whatever sets kernel.modules_disabled"
[ "$(id -u)" = 0 ] || refuse "not root: loading a module and reading debugfs need root" \
	"sudo make bench"
n=$(online_cpus | wc -l)
[ "$n" -ge 2 ] || refuse "$n CPU online: the bench queues from one CPU to a target on another" \
	"bring a second CPU online (echo 1 > /sys/devices/system/cpu/cpuN/online) or give the VM two vCPUs"
for c in $qcpu $tcpu; do
	online_cpus | grep -qx "$c" || refuse "CPU $c is not online" "pick online CPUs: $(paste -sd, /sys/devices/system/cpu/online)"
done
[ -z "$qcpu" ] || [ "$qcpu" != "$tcpu" ] || refuse "--queue-cpu and --target-cpu are both $qcpu" "pick two CPUs"
grep -qs '^[^ ]* /sys/kernel/debug debugfs ' /proc/mounts ||
	refuse "debugfs is not mounted at /sys/kernel/debug: twa_noipi is driven through it" \
		"mount -t debugfs none /sys/kernel/debug"
krel=$(uname -r)
lockdown=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/security/lockdown 2>/dev/null || true)
enroll="DKMS signs the modules it builds with /var/lib/dkms/mok.key: enroll its certificate once (mokutil --import /var/lib/dkms/mok.pub, reboot, confirm in MokManager)"
source_of_module=""
if [ -d /sys/module/twa_noipi ]; then
	source_of_module=loaded
elif modinfo -k "$krel" twa_noipi >/dev/null 2>&1; then
	source_of_module=modprobe
else
	[ -f "/lib/modules/$krel/build/Makefile" ] ||
		refuse "no twa_noipi module for $krel and no headers to build one (/lib/modules/$krel/build)" \
			"apt-get install linux-headers-$krel (then make bench builds it), or install twa-noipi-dkms (make deb; apt-get install ./build/deb/twa-noipi-dkms_*.deb)"
	case "$lockdown" in integrity | confidentiality)
		refuse "the kernel is locked down ($lockdown, as under UEFI Secure Boot): it loads only signed modules, and one built here is not signed" \
			"install twa-noipi-dkms (make deb; apt-get install ./build/deb/twa-noipi-dkms_*.deb): $enroll" ;;
	esac
	source_of_module=build
fi
need_cmds python3:python3

# 2. The module.
loaded_here=0
unload() { [ "$loaded_here" = 0 ] || rmmod twa_noipi || log "rmmod twa_noipi failed: still loaded"; }
trap unload EXIT
load_failed() {
	dmesg | tail -5 >&2 || true
	case "$1" in *"Key was rejected"* | *"Required key not available"* | *"Operation not permitted"*)
		refuse "the kernel refused twa_noipi's signature (${lockdown:-module signatures enforced})" "$enroll" ;;
	esac
	die "loading twa_noipi failed: $1"
}
case "$source_of_module" in
loaded) log "twa_noipi is loaded already: used as it is ($(modinfo -n twa_noipi 2>/dev/null || echo 'not from the module tree'))" ;;
modprobe)
	log "loading DKMS's twa_noipi: modprobe twa_noipi ($(modinfo -k "$krel" -n twa_noipi))"
	out=$(modprobe twa_noipi 2>&1) || load_failed "$out"
	loaded_here=1
	;;
build)
	m=$TWA_BUILD/bench-module
	rm -rf "$m" && mkdir -p "$m"
	# shellcheck disable=SC2086 # a list of paths
	(cd "$TWA_ROOT" && tar -cf - Makefile $TWA_MODULE_SRC) | tar -xf - -C "$m"
	log "building twa_noipi for $krel from this checkout (log: $m/build.log)"
	make -C "$m" KDIR="/lib/modules/$krel/build" modules >"$m/build.log" 2>&1 || {
		tail -20 "$m/build.log" >&2
		die "building twa_noipi against /lib/modules/$krel/build failed (log: $m/build.log)"
	}
	out=$(insmod "$m/twa_noipi.ko" 2>&1) || load_failed "$out"
	loaded_here=1
	log "loaded $m/twa_noipi.ko"
	;;
esac
[ -r /sys/kernel/debug/twa_noipi/features ] || die "twa_noipi is loaded but /sys/kernel/debug/twa_noipi is missing"

# 3. The CPUs.
if [ -n "$qcpu" ]; then
	pick="chosen (--queue-cpu, --target-cpu)"
	if [ "$(cpu_core "$qcpu")" = "$(cpu_core "$tcpu")" ]; then pick="$pick, SMT siblings of one core"; fi
else
	read -r qcpu tcpu pick < <(pick_cpus)
fi
log "CPUs: $n online; producer on CPU $qcpu (package:core $(cpu_core "$qcpu")), target on CPU $tcpu (package:core $(cpu_core "$tcpu")): $pick"

# 4. twa-bench and the report.
bench=$(command -v twa-bench || true)
if [ -z "$bench" ]; then
	need_cmds cmake:cmake g++:g++
	b=$TWA_BUILD/bench-tools
	log "building twa-bench from this checkout (log: $b/build.log)"
	mkdir -p "$b"
	{ cmake -S "$TWA_ROOT/userspace-tests" -B "$b" -DCMAKE_BUILD_TYPE=Release -DTWA_PACKAGE=ON &&
		cmake --build "$b" -j "$(nproc)"; } >"$b/build.log" 2>&1 || {
		tail -20 "$b/build.log" >&2
		die "building twa-bench failed (packages: cmake g++ liburing-dev; log: $b/build.log)"
	}
	bench=$b/twa-bench
fi
report=$(command -v twa-report || echo "$TWA_ROOT/scripts/report.py")
raw=$TWA_BUILD/bench-host
rm -rf "$raw" && mkdir -p "$raw"
args=(--items "$items" --ops "$ops" --rounds "$rounds" --queue-cpu "$qcpu" --target-cpu "$tcpu")
# --short: make test's quick bench (its report complete, its figures not).
# shellcheck disable=SC2054 # the commas are twa-bench's lists
[ "$short" = 0 ] || args+=(--warmup-items 2 --rates 1000,0 --sweep-seconds 0.15
	--deadlines 0,1000,none --frontier-rates 1000 --frontier-seconds 0.15)
log "twa-bench ${args[*]} ($bench)"
TWA_OUT=$raw "$bench" "${args[@]}"

smt=$(cat /sys/devices/system/cpu/smt/active 2>/dev/null || echo "?")
case "$smt" in 1) smt=on ;; 0) smt=off ;; esac
gov=$(cat "/sys/devices/system/cpu/cpu$tcpu/cpufreq/scaling_governor" 2>/dev/null || echo "none (no cpufreq)")
hyp=$(systemd-detect-virt 2>/dev/null || true)
if [ -z "$hyp" ] || [ "$hyp" = none ]; then
	hyp=none
	grep -qw hypervisor /proc/cpuinfo && hyp="a hypervisor (cpuinfo's hypervisor flag)"
	[ -r /sys/hypervisor/type ] && hyp=$(cat /sys/hypervisor/type)
fi
python3 - "$raw/machine.json" "$cmdline" "$qcpu" "$tcpu" "$pick" "$smt" "$gov" "$hyp" "$n" <<'PY'
import glob, json, os, sys
out, cmd, q, t, pick, smt, gov, hyp, n = sys.argv[1:]
def read(p, default=""):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return default
cpu = next((l.split(":", 1)[1].strip() for l in read("/proc/cpuinfo").splitlines()
            if l.startswith(("model name", "Model name"))), os.uname().machine)
vuln = {os.path.basename(p): read(p) for p in sorted(glob.glob("/sys/devices/system/cpu/vulnerabilities/*"))}
kinds = {}
for v in vuln.values():
    k = v.split(":")[0].split(";")[0].strip() or "?"
    kinds[k] = kinds.get(k, 0) + 1
json.dump({"kind": "host", "accel": "none (the running kernel)", "cpu_model": cpu,
           "cpus_online": int(n), "queue_cpu": int(q), "target_cpu": int(t), "cpu_pick": pick,
           "smt": smt, "governor": gov, "hypervisor": hyp,
           "nohz_full": read("/sys/devices/system/cpu/nohz_full").replace("(null)", ""),
           "isolcpus": read("/sys/devices/system/cpu/isolated"),
           "cmdline": read("/proc/cmdline"), "kernel": " ".join(os.uname()[2:4]),
           "mitigations": ", ".join("%d %s" % (c, k) for k, c in sorted(kinds.items())),
           "vulnerabilities": vuln, "command": cmd},
          open(out, "w"), indent=1)
PY
python3 "$report" --out "$results" --accel host --machine "$raw/machine.json" "$raw/bench.jsonl"
