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

# A kernel is a Debian series (5.10, 6.1, 6.12) or one we build from
# Debian's sources: kunit-5.10, kunit-6.1, debug-5.10, debug-6.1.
series_check() {
	case "$1" in
	5.10 | 6.1 | 6.12) ;;
	kunit-5.10 | kunit-6.1 | debug-5.10 | debug-6.1) ;;
	*) die "unknown kernel '$1' (known: $TWA_SERIES_ALL, kunit-5.10, kunit-6.1, debug-5.10, debug-6.1)" ;;
	esac
}

# Print the directory holding the kernel's kernel.env, fetching or
# building the kernel first if needed (progress goes to stderr). A script
# that resolved it exports TWA_KDIR_<kernel> (kernel_dir_export), so the
# scripts it runs do not resolve it again.
kernel_dir() {
	local var=TWA_KDIR_${1//[.-]/_}
	if [ -n "${!var:-}" ] && [ -f "${!var}/kernel.env" ]; then
		echo "${!var}"
		return 0
	fi
	case "$1" in
	kunit-* | debug-*)
		"$TWA_ROOT/scripts/build-kunit-kernel.sh" --flavour "${1%%-*}" "${1#*-}"
		;;
	*) "$TWA_ROOT/scripts/fetch-kernel.sh" "$1" ;;
	esac
}

kernel_dir_export() {
	local d
	d=$(kernel_dir "$1") || return 1
	export "TWA_KDIR_${1//[.-]/_}=$d"
}

# Print "main-uri security-uri" from the machine's apt sources
# (deb822 .sources files and one-line .list files alike).
mirror_uris() {
	local files=() f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 1
	awk '
	function emit(u, s,   n, i, a) {
		n = split(s, a, /[ \t]+/)
		for (i = 1; i <= n; i++) if (a[i] != "") print u, a[i]
	}
	/^[ \t]*#/ { next }
	/^deb[ \t]/ {
		sub(/\[[^]]*\][ \t]*/, "")
		print $2, $3; next
	}
	/^URIs:/ { uri = $2 }
	/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
	/^[ \t]*$/ { if (uri != "" && suites != "") emit(uri, suites); uri = ""; suites = "" }
	END { if (uri != "" && suites != "") emit(uri, suites) }
	' "${files[@]}" | awk '
	$1 ~ /debian-security/ || $2 ~ /-security$/ { if (sec == "") sec = $1; next }
	$1 ~ /debian\/?$/ && $2 ~ /^[a-z]+$/ { if (main == "") main = $1 }
	END {
		if (main == "") exit 1
		sub(/\/$/, "", main)
		if (sec == "") sec = main "-security"
		print main, sec
	}'
}

# A private apt root per suite: lists live in the cache, nothing system-wide.
apt_setup() {
	local suite=$1 dir=$TWA_CACHE/apt/$1 main sec
	read -r main sec < <(mirror_uris) ||
		die "cannot find a Debian mirror in /etc/apt/sources.list*"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc/preferences.d"
	cat >"$dir/etc/sources.list" <<SRC
deb [trusted=yes] $main $suite main
deb [trusted=yes] $sec $suite-security main
SRC
	cat >"$dir/apt.conf" <<CONF
Dir::State "$dir";
Dir::State::Lists "$dir/lists";
Dir::State::status "/dev/null";
Dir::Cache "$dir";
Dir::Cache::Archives "$dir/archives";
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::Etc::Preferences "$dir/etc/preferences";
Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
APT::Architecture "amd64";
APT::Architectures "amd64";
Acquire::Languages "none";
CONF
	echo "$dir/apt.conf"
}

# Update a suite's lists at most once per run of this script.
declare -A TWA_APT_UPDATED=()
apt_update() {
	local conf=$1 suite=$2
	[ -n "${TWA_APT_UPDATED[$suite]:-}" ] && return 0
	log "apt-get update ($suite, private lists under $TWA_CACHE/apt)"
	APT_CONFIG=$conf apt-get update -q >"$TWA_CACHE/apt/$suite/update.log" 2>&1 || {
		tail -20 "$TWA_CACHE/apt/$suite/update.log" >&2
		die "apt-get update for $suite failed (network? mirror?)"
	}
	TWA_APT_UPDATED[$suite]=1
}

# Depends of a package, one name a line (alternatives and versions dropped).
pkg_depends() {
	APT_CONFIG=$1 apt-cache show --no-all-versions "$2" |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -E 's/\|.*//; s/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$' || true
}

