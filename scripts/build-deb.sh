#!/usr/bin/env bash
# Build the Debian packages from the checkout with Debian's tools, and
# check them with lintian.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/build-deb.sh [--help]   (make deb)

Builds, from this checkout, with dpkg-buildpackage (debhelper compat 13,
dh-dkms) in a copy of the packaged files under $TWA_BUILD/deb/:
  twa-noipi-dkms   the module's sources and dkms.conf (DKMS builds it for
                   every installed kernel with TIF_NOTIFY_SIGNAL, x86_64 and
                   arm64), its headers and the shim for dependent modules;
  twa-noipi-tools  twa-bench and twa-report (the report generator).
Then runs lintian on them: an error fails the build; its full output is
in $TWA_BUILD/deb/lintian.txt. Packages built before from the same inputs
come from the cache ($TWA_CACHE/artefacts/deb).
USAGE
}
case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

"$TWA_ROOT/scripts/install-deps.sh"
need_cmds dpkg-buildpackage:dpkg-dev dh:debhelper dh_dkms:dh-dkms lintian:lintian \
	cmake:cmake

# What the packages hold, relative to the checkout.
files=(debian Kbuild Makefile dkms.conf dkms module include kunit examples
	userspace-tests/CMakeLists.txt userspace-tests/lib userspace-tests/bench
	scripts/report.py scripts/frontier.py)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TWA_ROOT/dkms.conf")
debver=$(cd "$TWA_ROOT" && dpkg-parsechangelog -S Version)
[ "$ver" = "$debver" ] ||
	die "dkms.conf's PACKAGE_VERSION ($ver) is not debian/changelog's version ($debver)"
grep -q "usr/src/twa-noipi-$ver/" "$TWA_ROOT/debian/twa-noipi-dkms.install" ||
	die "debian/twa-noipi-dkms.install does not install into usr/src/twa-noipi-$ver/"

out=$TWA_BUILD/deb
mapfile -t srcs < <(cd "$TWA_ROOT" && find "${files[@]}" -type f | sort | sed "s#^#$TWA_ROOT/#")
key=$(inputs_key "${srcs[@]}" "$(dpkg-query -W -f='${Version}' debhelper dh-dkms lintian \
	liburing-dev g++ cmake)" "$(dpkg --print-architecture)")
if artefact_get deb "$key" "$out.new"; then
	rm -rf "$out" && mv "$out.new" "$out"
	log "deb: packages built before from these sources: $(cd "$out" && echo ./*.deb)"
	exit 0
fi
rm -rf "$out" "$out.new"
src=$out/twa-noipi-$ver
mkdir -p "$src"
(cd "$TWA_ROOT" && tar -cf - "${files[@]}") | tar -xf - -C "$src"
log "deb: dpkg-buildpackage -b twa-noipi $ver (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b --no-sign) >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	die "deb: dpkg-buildpackage failed (log: $out/build.log)"
fi
changes=$(echo "$out"/twa-noipi_"${ver}"_*.changes)
[ -f "$changes" ] || die "deb: no .changes file in $out"
# lintian's exit status is 1 on an error tag (its default --fail-on).
rc=0
lintian --info --display-info "$changes" >"$out/lintian.txt" 2>&1 || rc=$?
errors=$(grep -c '^E: ' "$out/lintian.txt" || true)
warnings=$(grep -c '^W: ' "$out/lintian.txt" || true)
if [ "$rc" != 0 ] || [ "$errors" != 0 ]; then
	grep '^[EW]: ' "$out/lintian.txt" >&2 || tail -20 "$out/lintian.txt" >&2
	die "deb: lintian: $errors errors, $warnings warnings (all of it: $out/lintian.txt)"
fi
rm -rf "$src"
log "deb: built $(cd "$out" && echo ./*.deb); lintian: 0 errors, $warnings warnings" \
	"(in $out/lintian.txt)"
artefact_put deb "$key" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out/lintian.txt" \
	"$out/build.log"
