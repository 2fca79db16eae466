#!/bin/sh
# DKMS POST_BUILD for twa-noipi (run in DKMS's build directory): keep the
# Module.symvers of this build beside the module DKMS saves, at
#   /var/lib/dkms/twa-noipi/VERSION/KERNELRELEASE/ARCH/Module.symvers
# where a dependent module built through twa-noipi's shim finds it (its
# Kbuild.include looks there when no twa-noipi tree is beside it). Bookworm's
# DKMS (3.0.10) keeps no Module.symvers itself; OpenZFS does the same in
# its scripts/dkms.postbuild.
# Usage: post-build.sh DEST_DIR
set -eu
dest=${1:?usage: post-build.sh DEST_DIR}
if [ ! -s Module.symvers ]; then
	echo "twa-noipi: the build left no Module.symvers: dependent modules cannot link against this one" >&2
	exit 1
fi
mkdir -p "$dest"
cp -f Module.symvers "$dest/Module.symvers"
echo "twa-noipi: Module.symvers kept in $dest for dependent modules"
