#!/bin/bash
# init (PID 1) of the user's-install guest (scripts/user-install.sh): a
# full Debian root, the kernel's own initramfs having mounted it. Does
# what a user does, step by step, each under a timeout; its verdict goes
# to the result port (ttyS1) as "step NAME ok|skip|FAIL ...", the step's
# output to the console. Ends with "end" and powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive HOME=/root LC_ALL=C.UTF-8
mount -t debugfs none /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
# What udev or systemd makes on a booted machine, and bullseye's
# initramfs does not: dkms's process substitutions need /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
for i in 0:stdin 1:stdout 2:stderr; do [ -e "/dev/${i#*:}" ] || ln -s "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
exec 9>/dev/ttyS1
krel=$(uname -r)
D=/root/twa-install
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$D/src/dkms.conf")
say() { echo "$*" >&9; echo "twa-user: $*"; }
# step NAME TIMEOUT FUNCTION: run FUNCTION (exported) under a timeout,
# its output on the console.
step() {
	local name=$1 limit=$2 t0 rc=0
	shift 2
	t0=$(date +%s)
	echo "twa-user: step $name: $*"
	timeout -s KILL "$limit" bash -c '"$@"' _ "$@" 2>&1 | sed -u "s/^/[$name] /"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		say "step $name ok $(($(date +%s) - t0))s"
	else
		say "step $name FAIL exit $rc after $(($(date +%s) - t0))s"
	fi
	return "$rc"
}
skip() { say "step $1 skip: $2"; }
# file NAME PATH: a file to the host, framed.
file() { [ -f "$2" ] && { echo "file $1 begin"; cat "$2"; echo "file $1 end"; } >&9; }

# Absolute paths: apt's refuses ./NAME.deb.
headers() { apt-get install -y -q "$D"/debs/linux-*.deb; }
# Our packages, as a user installs them: dkms's postinst builds and
# installs the module for the running kernel. twa-noipi-tools is built on
# the build machine's suite: where this suite cannot satisfy its
# dependencies (apt says so, simulating), the -dkms package alone.
packages() {
	if [ "$tools" = yes ]; then
		apt-get install -y -q "$D"/debs/twa-noipi-dkms_*.deb "$D"/debs/twa-noipi-tools_*.deb
	else
		apt-get install -y -q "$D"/debs/twa-noipi-dkms_*.deb
	fi
}
dkms_status() {
	dkms status
	dkms status twa-noipi | grep -q "$krel.*: installed" &&
		ls "/lib/modules/$krel/updates/dkms/"twa_noipi.ko* &&
		ls "/var/lib/dkms/twa-noipi/$ver/$krel/"*/Module.symvers
}
load() {
	modprobe twa_noipi && [ -d /sys/module/twa_noipi ] &&
		modinfo -n twa_noipi | grep -q /updates/dkms/ && cat /sys/kernel/debug/twa_noipi/features
}
# The example consumer, built as a user builds a module of their own:
# a copy, its Kbuild's one shim line pointing at the installed shim.
consumer() {
	rm -rf /tmp/consumer && cp -r "/usr/src/twa-noipi-$ver/examples/consumer" /tmp/consumer &&
		sed -i "s|^include .*/include/shim/Kbuild.include\$|include /usr/src/twa-noipi-$ver/include/shim/Kbuild.include|" \
			/tmp/consumer/Kbuild &&
		grep "^include /usr/src/" /tmp/consumer/Kbuild &&
		make -C "/lib/modules/$krel/build" M=/tmp/consumer modules &&
		modinfo /tmp/consumer/twa_consumer.ko | grep -E '^(depends|vermagic)' &&
		insmod /tmp/consumer/twa_consumer.ko && rmmod twa_consumer
}
bench() {
	rm -rf /tmp/twa && cp -a "$D/src" /tmp/twa && make -C /tmp/twa bench SHORT=1 &&
		ls "/tmp/twa/results/host/$krel/report.json" "/tmp/twa/results/host/$krel/report.md" &&
		grep -q '^Machine: this machine' "/tmp/twa/results/host/$krel/report.md"
}
# Nothing left once purged: no module file, no DKMS state, no sources.
purge() {
	apt-get purge -y -q twa-noipi-dkms twa-noipi-tools || return 1
	local left
	left=$(find /lib/modules /var/lib/dkms /usr/src -name 'twa_noipi*' -o -name 'twa-noipi*' 2>/dev/null)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
	[ -z "$(dkms status 2>&1)" ] || { echo "dkms status: $(dkms status 2>&1)"; return 1; }
}

export D ver krel tools
export -f headers packages dkms_status load consumer bench purge

say begin
say "kernel $krel"
step headers 300 headers
tools=yes
if ! apt-get install -y -q -s "$D"/debs/twa-noipi-tools_*.deb >/tmp/tools-sim 2>&1; then
	tools=no
	say "tools: twa-noipi-tools not installable here: $(grep -m1 -E 'Depends|Unmet|Broken|Error' /tmp/tools-sim)"
fi
# Without the module installed the steps after it say nothing new:
# skipped, saying why; purge still runs.
if step packages 900 packages; then
	file dkms-make.log "$(find "/var/lib/dkms/twa-noipi/$ver/$krel" -name make.log 2>/dev/null | head -1)"
	step dkms-status 60 dkms_status
	step modprobe 60 load
	step consumer 600 consumer
	if [ "$tools" = yes ]; then
		step bench 900 bench
		file report.md "/tmp/twa/results/host/$krel/report.md"
	else
		skip bench "twa-noipi-tools is not installable on this suite (built on the build machine's)"
	fi
	step unload 60 rmmod twa_noipi
else
	for s in dkms-status modprobe consumer bench unload; do skip "$s" "the packages did not install"; done
fi
step purge 300 purge
say end
sync
echo o >/proc/sysrq-trigger
sleep 30
