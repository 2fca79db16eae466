#!/bin/sh
# mmdebstrap customize hook of scripts/user-install.sh, run on the host:
#   user-root-hook.sh ROOT ABI KRELEASE
# The kernel's headers are installed, so that every package they depend
# on is (the guest has no network), downloaded into /root/twa-install/debs
# for the guest's apt, then purged again: the guest installs them as a
# user would. The kernel's initramfs is made if the image package's
# postinst ran before initramfs-tools was there.
set -eu
root=$1 abi=$2 krel=$3
chroot "$root" apt-get install -y -q --no-install-recommends "linux-headers-$abi"
# Those installed (dpkg also lists packages it only knows of).
# shellcheck disable=SC2016 # dpkg-query's own format
pkgs=$(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'linux-headers-*' \
	'linux-kbuild-*' | awk '$1 == "ii" { print $2 }')
mkdir -p "$root/root/twa-install/debs"
pkgs=$(echo "$pkgs" | tr '\n' ' ')
chroot "$root" sh -c "cd /root/twa-install/debs && apt-get download -q $pkgs"
# shellcheck disable=SC2086 # a list of package names
chroot "$root" dpkg --purge $pkgs
# twa-noipi-tools' runtime library, where the suite has it (bullseye has
# only liburing1: the tools package is not for it).
chroot "$root" apt-get install -y -q --no-install-recommends liburing2 ||
	echo "user-root-hook: no liburing2 in this suite"
[ -f "$root/boot/initrd.img-$krel" ] || chroot "$root" update-initramfs -c -k "$krel"
