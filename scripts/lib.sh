# shellcheck shell=bash
# Shared helpers for twa-noipi scripts. Source it; do not run it.

TWA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TWA_CACHE=${TWA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twa-noipi}
TWA_BUILD=${TWA_BUILD:-$TWA_ROOT/build}
TWA_SERIES_ALL="5.10 6.1 6.12"
export TWA_SERIES_DEFAULT=6.1

log() { printf '[twa] %s\n' "$*" >&2; }
die() { printf '[twa] error: %s\n' "$*" >&2; exit 1; }

# Check that every named command exists; name the Debian package to
# install for each missing one so the reader knows what to do.
need_cmds() {
	local missing=() pair cmd pkg
	for pair in "$@"; do
		cmd=${pair%%:*}
		pkg=${pair#*:}
		command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd (package $pkg)")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	printf '[twa] missing: %s\n' "${missing[@]}" >&2
	die "run 'sudo scripts/install-deps.sh' (or apt-get install the packages above)"
}

series_check() {
	case "$1" in
	5.10 | 6.1 | 6.12) ;;
	*) die "unknown kernel series '$1' (known: $TWA_SERIES_ALL)" ;;
	esac
}

# The directory fetch-kernel.sh fills for a series; "current" points at
# the newest ABI that was resolved.
kernel_dir() { echo "$TWA_CACHE/kernels/$1/current"; }
