# shellcheck shell=bash
# Shared helpers for twa-noipi scripts. Source it; do not run it.

TWA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TWA_CACHE=${TWA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twa-noipi}
TWA_BUILD=${TWA_BUILD:-$TWA_ROOT/build}
TWA_KERNELS=$TWA_ROOT/kernels
# Data files made for kernels named SUITE:PACKAGE on a command line.
TWA_KERNELS_ADHOC=$TWA_BUILD/kernels
# What a module build needs (also what DKMS packages), relative to TWA_ROOT.
export TWA_MODULE_SRC="Kbuild module include kunit examples"
# Its linux-source tree provides checkpatch.pl for make check.
export TWA_TOOLS_KERNEL=debug-6.1
# What a build root (scripts/build-root.sh) holds besides the kernel's
# compiler: a module build, the compat probe, and DKMS.
# shellcheck disable=SC2034 # read by build-root.sh
TWA_ROOT_PKGS=(make libc6-dev libelf-dev bc flex bison kmod dwarves libssl-dev python3 dkms)
# make run's kernel when none is named.
export TWA_KERNEL_DEFAULT=6.1

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

# What the kernel prints when it goes wrong (judged on the guest console).
# shellcheck disable=SC2034 # read by qemu-run.sh
TWA_SPLAT_RE='WARNING:|BUG:|Oops|Call Trace|general protection|Kernel panic'
# x86's oops on an int3 nobody claimed ("Oops: int3: 0000 [#1]"; before 6.x
# "int3: 0000 [#1]").
# shellcheck disable=SC2034 # read by qemu-run.sh
TWA_INT3_RE='(^|[] ])int3: [0-9a-f]{4} \[#[0-9]+\]'
# emulator_crash CONSOLE RESULT ARCH: why a boot's crash is the
# emulator's (printed), or nothing. Two kinds:
#  - a kernel that died before our init printed its first line ran nothing
#    of ours. Init's first line on the console witnesses it ran too (the
#    result port's first line has been seen to start with stray bytes),
#    and a splat after it (an OOM report the fault test asks for) is not
#    this case;
#  - an oops on an int3 (x86): the kernel places int3 only while it
#    patches its text (text_poke_bp(), kprobes) and claims every one it
#    placed; an oops means a vCPU ran one that was already gone, a stale
#    translation of patched text under multi-threaded TCG (seen at boot on
#    6.12, and about one bench in 20 on rt-7.x while the tracers armed).
emulator_crash() {
	if ! grep -aq '^begin ' "$2" && ! grep -aq 'twa-guest: begin' "$1" &&
		grep -qE "$TWA_SPLAT_RE" "$1"; then
		echo "the kernel crashed before init ran"
	elif [ "$3" = x86_64 ] && grep -aqE "$TWA_INT3_RE" "$1"; then
		echo "an oops on a stale int3 (TCG and code patching)"
	fi
}
# A guest that prints one of these is not coming back: stop waiting for it.
# shellcheck disable=SC2034 # read by qemu-run.sh
TWA_STALL_RE='detected stalls on CPUs|self-detected stall|soft lockup|blocked for more than'

# Every kernel target: one data file kernels/NAME.conf each, in version order.
kernels_all() {
	local f
	for f in "$TWA_KERNELS"/*.conf; do
		f=${f##*/}
		echo "${f%.conf}"
	done | sort -V
}

# Load kernels/NAME.conf into K_* variables (keys: kernels/README.md).
# Unknown names and keys are errors, so a typo never becomes a default.
kernel_conf() {
	local f=$TWA_KERNELS/$1.conf line key val
	[ -f "$f" ] || f=$TWA_KERNELS_ADHOC/$1.conf
	[ -f "$f" ] || die "unknown kernel '$1' (known: $(kernels_all | paste -sd' '))"
	# shellcheck disable=SC2034 # read by the scripts that source this file
	K_NAME=$1 K_DESCRIPTION=$1 K_SOURCE="" K_SUITE="" K_PACKAGE="" K_ARCH=x86_64 \
		K_CONFIG="" K_UNEXPORT="" K_REFUSAL="" K_TESTS=guest K_UNLOADS=200 K_EXIT_CYCLES=1000 \
		K_CONCURRENT_ITEMS=100000 K_FUZZ_WRITES=20000 K_FAULT_ITEMS=65536 K_HOTPLUG_CYCLES=10 \
		K_FAULT_FAILS=300 K_IPI_ITEMS=200 K_TIMEOUT=1200 K_OPT_IN=no
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in '' | '#'*) continue ;; esac
		key=${line%%=*} val=${line#*=}
		val=${val#\"} val=${val%\"}
		case "$key" in
		DESCRIPTION | SOURCE | SUITE | PACKAGE | ARCH | CONFIG | UNEXPORT | REFUSAL | TESTS | \
			UNLOADS | EXIT_CYCLES | CONCURRENT_ITEMS | FUZZ_WRITES | FAULT_ITEMS | \
			HOTPLUG_CYCLES | FAULT_FAILS | IPI_ITEMS | TIMEOUT | OPT_IN)
			printf -v "K_$key" '%s' "$val" ;;
		*) die "$f: unknown key '$key'" ;;
		esac
	done <"$f"
	case "$K_SOURCE" in debian | build) ;; *) die "$f: SOURCE must be debian or build" ;; esac
	if [ -z "$K_SUITE" ] || [ -z "$K_PACKAGE" ]; then
		die "$f: SUITE and PACKAGE are required"
	fi
	case "$K_ARCH" in x86_64 | arm64) ;; *) die "$f: ARCH must be x86_64 or arm64" ;; esac
	case "$K_OPT_IN" in yes | no) ;; *) die "$f: OPT_IN must be yes or no" ;; esac
}

# Debian's name of kernel K's architecture (kernel_conf loaded), and the
# prefix of its cross tools (empty: the host's own, x86_64).
kernel_debarch() { case "$K_ARCH" in arm64) echo arm64 ;; *) echo amd64 ;; esac; }
kernel_cross() { case "$K_ARCH" in arm64) echo aarch64-linux-gnu- ;; esac; }

# The matrix: every kernel but those with OPT_IN=yes (run only when named).
kernels_matrix() {
	local k
	for k in $(kernels_all); do
		(kernel_conf "$k" && [ "$K_OPT_IN" = no ] && echo "$k")
	done
}

# Names given on a command line, each checked; "all" or none: the matrix.
kernels_select() {
	local k
	if [ $# -eq 0 ] || [ "$*" = all ]; then
		kernels_matrix
		return
	fi
	for k in "$@"; do
		case "$k" in
		*:*) kernel_adhoc "$k" ;;
		*)
			(kernel_conf "$k") || exit 1
			echo "$k"
			;;
		esac
	done
}

# Every kernel of the matrix whose TESTS include $1 (dkms, guest, kunit).
kernels_with() {
	local k
	for k in $(kernels_matrix); do
		(kernel_conf "$k" && case " $K_TESTS " in *" $1 "*) echo "$k" ;; esac)
	done
}

# A Debian kernel nobody listed, named SUITE:PACKAGE on a command line
# (bookworm:linux-image-rt-amd64): a data file is made for it under
# $TWA_KERNELS_ADHOC, named SUITE_PACKAGE, and read like those in kernels/.
kernel_adhoc() {
	local suite=${1%%:*} pkg=${1#*:} name
	if ! [[ $suite =~ ^[a-z][a-z0-9-]*$ && $pkg =~ ^linux-image-[a-z0-9][a-z0-9.+-]*$ ]]; then
		die "'$1': a kernel not in kernels/ is SUITE:PACKAGE, like bookworm:linux-image-rt-amd64"
	fi
	# The architecture is in the flavour, the package name's last word
	# (linux-image-rt-arm64, linux-image-6.1.0-57-cloud-amd64): the ones
	# the kernels/ files can name, each tested as they are.
	local arch tests
	case "$pkg" in
	*-amd64) arch=x86_64 tests="dkms guest" ;;
	*-arm64) arch=arm64 tests=guest ;; # the host tests DKMS on x86_64 kernels only
	*)
		die "'$1': $pkg is $(adhoc_arch "$pkg"); supported: amd64 (x86_64) and arm64, a package whose name ends in -amd64 or -arm64" ;;
	esac
	name=${suite}_$pkg
	mkdir -p "$TWA_KERNELS_ADHOC"
	cat >"$TWA_KERNELS_ADHOC/$name.conf" <<CONF
# Made for '$1' on a command line: a kernel not in kernels/.
DESCRIPTION="Debian $suite, $pkg (ad hoc)"
SOURCE=debian
SUITE=$suite
PACKAGE=$pkg
ARCH=$arch
TESTS="$tests"
UNLOADS=100
CONF
	echo "$name"
}

# What architecture a Debian kernel package's flavour names, for a message.
adhoc_arch() {
	case "$1" in
	*-686 | *-686-pae) echo "an i386 kernel" ;;
	*-armmp | *-armmp-lpae) echo "an armhf kernel" ;;
	*-powerpc64le) echo "a ppc64el kernel" ;;
	*-s390x) echo "an s390x kernel" ;;
	*-riscv64) echo "a riscv64 kernel" ;;
	*-loong64) echo "a loong64 kernel" ;;
	*) echo "of a flavour this script does not know" ;;
	esac
}

# The manifest of a prepared kernel (scripts/prepare-kernel.sh, its one
# writer): $TWA_BUILD/KERNEL/manifest, KEY=value lines with these keys
# (kernels/README.md says what each holds). Every script that needs a fact
# about a kernel (where its headers are, its compiler, what it offers)
# reads it here, through manifest_load.
TWA_MANIFEST_KEYS=(NAME SOURCE SUITE ARCH KABI KRELEASE VMLINUZ KDIR KCONFIG KSRC EXTRA_KO
	CC CROSS ROOT ROOT_SUITE COMPILER OFFERS RUN)
manifest_file() { echo "$TWA_BUILD/$1/manifest"; }
# manifest_current KERNEL: its manifest exists and this run (TWA_RUN)
# wrote it.
manifest_current() {
	[ "$(sed -n 's/^RUN=//p' "$(manifest_file "$1")" 2>/dev/null)" = "$TWA_RUN" ]
}
# manifest_load KERNEL: its manifest's keys as M_KEY variables (M_KDIR,
# M_CC, ...), the kernel prepared first unless this run already did (so
# a script run on its own still sees a changed kernel, and one run prepares
# each kernel once).
manifest_load() {
	local f key val line
	f=$(manifest_file "$1")
	manifest_current "$1" || "$TWA_ROOT/scripts/prepare-kernel.sh" "$1" >&2 ||
		die "$1: the kernel could not be prepared (above)"
	for key in "${TWA_MANIFEST_KEYS[@]}"; do printf -v "M_$key" '%s' ""; done
	while IFS= read -r line; do
		key=${line%%=*} val=${line#*=}
		[[ " ${TWA_MANIFEST_KEYS[*]} " == *" $key "* ]] || die "$f: unknown key '$key'"
		printf -v "M_$key" '%s' "$val"
	done <"$f"
}
# manifest_key KERNEL KEY: one key of a manifest as it stands (no
# preparing): for readers of a finished run (list-kernels).
manifest_key() { sed -n "s/^$2=//p" "$(manifest_file "$1")" 2>/dev/null; }
# has_offer OFFERS WORD: the kernel offers WORD (its manifest's OFFERS).
has_offer() { [[ " $1 " == *" $2 "* ]]; }

# What a kernel offers, read from its own config and headers (KCONFIG,
# KSRC of its kernel.env): words like "nohz_full preempt=voluntary,dynamic ibt
# native-no-ipi kunit".
kernel_offers() {
	local env=$1 cfg src words=()
	cfg=$(sed -n 's/^KCONFIG=//p' "$env")
	src=$(sed -n 's/^KSRC=//p' "$env")
	# Debian's arch headers include the generic ones (-common) by path.
	[ -n "$src" ] || src=$(sed -n 's#^include \(/.*\)/Makefile$#\1#p' \
		"$(sed -n 's/^KDIR=//p' "$env")/Makefile" | head -1)
	grep -q '^CONFIG_NO_HZ_FULL=y' "$cfg" && words+=(nohz_full)
	# The model the kernel boots with (a PREEMPT_DYNAMIC kernel can be
	# switched with preempt= on its command line; the harness never does).
	local model=none
	if grep -q '^CONFIG_PREEMPT_RT=y' "$cfg"; then
		model=rt
	elif grep -q '^CONFIG_PREEMPT_LAZY=y' "$cfg"; then
		model=lazy
	elif grep -q '^CONFIG_PREEMPT=y' "$cfg"; then
		model=full
	elif grep -q '^CONFIG_PREEMPT_VOLUNTARY=y' "$cfg"; then
		model=voluntary
	fi
	grep -q '^CONFIG_PREEMPT_DYNAMIC=y' "$cfg" && model+=,dynamic
	words+=("preempt=$model")
	grep -q '^CONFIG_X86_KERNEL_IBT=y' "$cfg" && words+=(ibt)
	grep -qE '^CONFIG_KUNIT=[ym]' "$cfg" && words+=(kunit)
	grep -qE '^CONFIG_KASAN=y' "$cfg" && words+=(kasan)
	grep -q 'TWA_SIGNAL_NO_IPI' "$src/include/linux/task_work.h" 2>/dev/null &&
		words+=(native-no-ipi)
	echo "${words[*]}"
}

# run_feature KERNEL RUN KEY: the value of KEY in the module's features
# file as the guest sent it in run RUN of KERNEL (build/KERNEL/runs/RUN/
# files/module/features; the line "KEY VALUE..."); "-" where there is none.
# The one reader of it: the features reach the host as a file, not as
# lines grepped out of a console log.
run_feature() {
	local f=$TWA_BUILD/$1/runs/$2/files/module/features v
	[ -f "$f" ] || { echo -; return; }
	v=$(tr -d '\r' <"$f" 2>/dev/null | awk -v k="$3" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }')
	echo "${v:--}"
}

# The host's Debian suite (bookworm, ...).
host_suite() { sed -n 's/^VERSION_CODENAME=//p' /etc/os-release; }

# The compiler a kernel's headers ask for (gcc-12), from its
# .kernelvariables (Debian's headers) or its config.
kernel_cc() {
	local kdir=$1 cc
	cc=$(sed -n 's/^CC = .*(CROSS_COMPILE)\(gcc-[0-9]*\)$/\1/p' "$kdir/.kernelvariables" 2>/dev/null)
	[ -n "$cc" ] || cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([a-z0-9_]*-linux-gnu-\)\{0,1\}\(gcc-[0-9]*\) .*/\2/p' "$kdir/.config")
	echo "${cc:-gcc}"
}

# kernel_compiler [KDIR]: the compiler command of kernel K (kernel_conf
# loaded), cross prefix and all (aarch64-linux-gnu-gcc-16). A kernel that
# exists (KDIR: Debian's headers, or a build directory) says which: its
# headers or config name it. One still to build from source gets its
# suite's: the gcc-N that suite's gcc depends on. Where the suite is the
# machine's, that is plain gcc: what a module build for such a kernel
# uses (the Makefile leaves CC alone), so kbuild sees the same compiler;
# a cross compiler has its gcc-N in its name.
kernel_compiler() {
	local kcc
	if [ -n "${1:-}" ]; then
		kcc=$(kernel_cc "$1")
		# The host's own suite, where the headers' gcc-N is not installed:
		# the machine's gcc builds a module that loads and runs (as the
		# Makefile's own guess does for a plain make).
		if [ -z "$(kernel_root_suite)" ] && [ -z "$(kernel_cross)" ] &&
			! command -v "$kcc" >/dev/null 2>&1; then
			log "$K_NAME: $kcc, the kernel's compiler, is missing: building its modules with gcc"
			kcc=gcc
		fi
	elif [ -n "$(kernel_root_suite)" ]; then
		kcc=$(suite_cc "$K_SUITE")
	elif [ -n "$(kernel_cross)" ]; then
		kcc=gcc-$(gcc -dumpversion | cut -d. -f1)
	else
		kcc=gcc
	fi
	echo "$(kernel_cross)$kcc"
}

# kernel_root_pkgs KERNEL [KDIR]: the compiler packages KERNEL's build root
# must hold, one a line (nothing where it builds on the machine itself).
# The one place that decides them: prepare-kernel.sh makes each root once
# with the union, build-kernel.sh asks for its own. A Debian kernel's
# compiler is the one its headers name (KDIR, required). A kernel built
# from source for another architecture also needs the native gcc-N: its
# own build tools (HOSTCC) run here.
kernel_root_pkgs() {
	local kdir=${2:-} cc
	kernel_conf "$1"
	[ -n "$(kernel_root_suite)" ] || return 0
	[ -n "$kdir" ] || [ "$K_SOURCE" = build ] || die "$1: kernel_root_pkgs needs its KDIR"
	cc=$(kernel_compiler "$kdir")
	cc_package "$cc"
	if [ "$K_SOURCE" = build ] && [ -n "$(kernel_cross)" ]; then
		echo "${cc#"$(kernel_cross)"}"
	fi
}

# The compiler a Debian suite builds with: the gcc-N its gcc depends on.
suite_cc() {
	local conf cc
	conf=$(apt_setup "$1")
	apt_update "$conf" "$1"
	cc=$(pkg_depends "$conf" gcc | grep -E '^gcc-[0-9]+$' | head -1 || true)
	[ -n "$cc" ] || die "$1: its gcc package depends on no gcc-N"
	echo "$cc"
}

# The Debian package of a compiler command: gcc-12, aarch64-linux-gnu-gcc-16
# (gcc-16-aarch64-linux-gnu).
cc_package() {
	case "$1" in
	*-linux-gnu-gcc-*) echo "gcc-${1##*-gcc-}-${1%-gcc-*}" ;;
	*) echo "$1" ;;
	esac
}

# guest_sysroot ARCH: Debian's ARCH packages the guest needs beyond the
# cross compiler's own libc and libstdc++ (GoogleTest and liburing static
# libraries, busybox-static), of the host's suite, downloaded and unpacked
# once under $TWA_CACHE/sysroots/SUITE-ARCH. Prints its path.
TWA_SYSROOT_PKGS=(libgtest-dev googletest liburing-dev busybox-static)
guest_sysroot() {
	local arch=$1 suite dir conf deb
	suite=$(host_suite)
	dir=$TWA_CACHE/sysroots/$suite-$arch
	if [ "$(cat "$dir/.complete" 2>/dev/null)" = "${TWA_SYSROOT_PKGS[*]}" ]; then
		echo "$dir"
		return 0
	fi
	need_cmds apt-get:apt dpkg-deb:dpkg
	conf=$(apt_setup "$suite" "$arch")
	apt_update "$conf" "$suite"
	rm -rf "$dir"
	log "$suite-$arch: downloading ${TWA_SYSROOT_PKGS[*]} for the guest"
	apt_download "$conf" "$dir/debs" "${TWA_SYSROOT_PKGS[@]}"
	for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir"; done
	rm -rf "${dir:?}/debs"
	echo "${TWA_SYSROOT_PKGS[*]}" >"$dir/.complete"
	echo "$dir"
}

# The suite whose root builds kernel K (loaded by kernel_conf) and its
# modules: a kernel of another suite than the host's, Debian's or built
# from that suite's linux-source, is built with its own suite's compiler
# and glibc. Empty: the host builds.
kernel_root_suite() {
	# A -backports suite is built with its base suite's toolchain
	# (bookworm-backports' kernels with bookworm's gcc), and holds too few
	# packages to make a root of its own.
	local base=${K_SUITE%-backports}
	if [ "$base" != "$(host_suite)" ]; then
		echo "$base"
	fi
}

# in_root ROOT KDIR CMD...: run CMD in the build root ROOT, for the
# kernel whose build directory is KDIR, in a mount namespace of its own
# (nothing stays mounted). Mounted: /proc (7.x objtool reads it); the cache
# and build directories at their own paths (a kernel built from source
# lives in the cache: its KDIR is the same inside); for an unpacked Debian
# kernel (KDIR .../usr/src/linux-headers-ABI), its usr/src and
# usr/lib/linux-kbuild-* at their real paths (7.x headers insist on
# /usr/src, and their scripts link to ../../lib/linux-kbuild-*). CMD should
# use root_kdir KDIR as its KDIR: make run from elsewhere puts external
# modules' objects in the headers (7.x: KBUILD_EXTMOD_OUTPUT).
in_root() {
	local root=$1 kroot=
	case "$2" in */usr/src/*) kroot=${2%/usr/src/*} ;; esac
	shift 2
	mkdir -p "$TWA_CACHE" "$TWA_BUILD" # (both bind-mounted: a fresh clone has no build/)
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare --mount --propagation private -- bash -euc '
		r=$1 kroot=$2 cache=$3 build=$4
		shift 4
		mount -t proc proc "$r/proc"
		if [ -n "$kroot" ]; then
			mount --bind "$kroot/usr/src" "$r/usr/src"
			for d in "$kroot"/usr/lib/linux-kbuild-*; do
				mkdir -p "$r/usr/lib/${d##*/}"
				mount --bind "$d" "$r/usr/lib/${d##*/}"
			done
		fi
		for d in "$cache" "$build"; do
			mkdir -p "$r$d"
			mount --bind "$d" "$r$d"
		done
		exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 "$@"' _ "$root" "$kroot" "$TWA_CACHE" "$TWA_BUILD" "$@"
}
root_kdir() {
	case "$1" in
	*/usr/src/*) echo "/usr/src/${1##*/usr/src/}" ;;
	*) echo "$1" ;;
	esac
}

# A build step's key: a hash of the named files (name and contents) and
# any extra words. A step whose stamp holds its key is up to date.
inputs_key() {
	local f
	{
		for f in "$@"; do
			# Paths relative to the clone: a key does not depend on
			# where the clone is.
			echo "${f#"$TWA_ROOT"/}"
			if [ -f "$f" ]; then
				cat "$f"
			fi
		done
	} | sha256sum | cut -c1-16
}
up_to_date() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# unframe_files RESULT DIR: the files a guest sent on its result port,
# framed "file NAME begin" ... "file NAME end" (NAME may hold a /), into DIR.
unframe_files() {
	awk -v dir="$2" '
		/^file [^ ]+ begin$/ { f = dir "/" $2; d = f; sub(/\/[^\/]*$/, "", d)
			system("mkdir -p \"" d "\""); next }
		/^file [^ ]+ end$/ { close(f); f = ""; next }
		f != "" { print > f }' "$1"
}

# Artefacts by key, in the cache: what a build step made from given inputs
# (a kernel's modules, its initramfs, the cross-built guest programs) is
# kept under $TWA_CACHE/artefacts/NAME/KEY, so a fresh clone of the same
# sources reuses it instead of making it again: made once per change, not
# once per clone. Keys are clone-independent (inputs_key). One key per
# NAME is kept: the newest.
# artefact_get NAME KEY DIR: copy NAME's files of KEY into DIR (made);
# fails if the cache has none.
artefact_get() {
	local a=$TWA_CACHE/artefacts/$1/$2
	[ -f "$a/.complete" ] || return 1
	mkdir -p "$3"
	cp -a "$a/files/." "$3/"
}
# artefact_put NAME KEY FILE...: keep FILEs as NAME's artefact of KEY.
artefact_put() {
	local top=$TWA_CACHE/artefacts/$1 key=$2 tmp
	shift 2
	mkdir -p "$top"
	tmp=$(mktemp -d "$top/.new.XXXXXX")
	mkdir -p "$tmp/files"
	cp -a "$@" "$tmp/files/"
	touch "$tmp/.complete"
	rm -rf "${top:?}/$key"
	mv "$tmp" "$top/$key"
	find "$top" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
}

# The project's source files under the named directories (no build
# products), one path a line.
src_files() {
	(cd "$TWA_ROOT" && find "$@" -type f \( -name '*.[ch]' -o -name '*.[ch]pp' \
		-o -name Kbuild -o -name 'Kbuild.*' -o -name Makefile -o -name '*.sh' -o -name '*.config' \
		-o -name CMakeLists.txt -o -name '.clang-*' -o -name init \) |
		sort | sed "s#^#$TWA_ROOT/#")
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
# apt_setup SUITE [DEBARCH]: for another architecture than amd64 (arm64),
# its own root, whose lists hold amd64 too (the kernel's linux-kbuild tools
# must run here).
apt_setup() {
	local suite=$1 arch=${2:-amd64} dir=$TWA_CACHE/apt/$1 main sec archs='"amd64";'
	if [ "$arch" != amd64 ]; then
		dir=$TWA_CACHE/apt/$suite-$arch archs="\"$arch\"; $archs"
	fi
	read -r main sec < <(mirror_uris) ||
		die "cannot find a Debian mirror in /etc/apt/sources.list*"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc/preferences.d"
	echo "deb [trusted=yes] $main $suite main" >"$dir/etc/sources.list"
	# The development suites have no security archive, nor do backports
	# (bookworm-backports: its kernels' fixes come through the suite itself).
	case "$suite" in
	sid | unstable | experimental | *-backports) ;;
	*) echo "deb [trusted=yes] $sec $suite-security main" >>"$dir/etc/sources.list" ;;
	esac
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
APT::Architecture "$arch";
APT::Architectures { $archs };
Acquire::Languages "none";
CONF
	echo "$dir/apt.conf"
}

# Update a suite's lists at most once per run: per TWA_RUN, which the first
# script of a run sets and its children (and subshells: $(suite_cc ...))
# inherit. A stamp beside the lists holds the run that updated them; a lock
# keeps two updaters of one suite (parallel steps) from racing.
: "${TWA_RUN:=$$.$(date +%s%N)}"
export TWA_RUN
apt_update() {
	local conf=$1 suite=$2 dir=${1%/apt.conf}
	[ "$(cat "$dir/updated" 2>/dev/null)" = "$TWA_RUN" ] && return 0
	(
		flock 8
		[ "$(cat "$dir/updated" 2>/dev/null)" = "$TWA_RUN" ] && exit 0
		log "apt-get update ($suite, private lists under $dir)"
		APT_CONFIG=$conf apt-get update -q >"$dir/update.log" 2>&1 || {
			tail -20 "$dir/update.log" >&2
			die "apt-get update of suite '$suite' failed: not a Debian suite on this mirror, or no network (log: $dir/update.log)"
		}
		echo "$TWA_RUN" >"$dir/updated"
	) 8>"$dir/update.lock" || exit 1
}

# apt_download CONF DIR PACKAGE...: apt-get download into DIR (made), its
# log in DIR/../download.log; dies with the log's tail on failure.
apt_download() {
	apt_try_download "$@" || {
		tail -20 "${2%/*}/download.log" >&2
		die "apt-get download ${*:3} failed (log: ${2%/*}/download.log)"
	}
}

# apt_try_download CONF DIR PACKAGE...: the same, failing quietly.
apt_try_download() {
	local conf=$1 dir=$2 log=${2%/*}/download.log
	shift 2
	mkdir -p "$dir"
	(cd "$dir" && APT_CONFIG=$conf apt-get download -q "$@" >"$log" 2>&1)
}

# pkg_images CONF PACKAGE: the linux-image-ABI packages that the versions
# of the meta PACKAGE depend on, newest version first. A mirror can list
# a version whose files it does not carry (seen: bullseye-security's
# arm64 kernels): the caller tries them in turn.
pkg_images() {
	APT_CONFIG=$1 apt-cache show "$2" 2>/dev/null | awk '
		/^Version: / { v = $2 }
		/^Depends: / { n = split(substr($0, 10), d, ",")
			for (i = 1; i <= n; i++) { sub(/^ +/, "", d[i]); sub(/[ |(].*/, "", d[i])
				if (d[i] ~ /^linux-image-[0-9]/) print v, d[i] } }' |
		sort -rV -k1,1 | awk '!seen[$2]++ { print $2 }'
}

# Depends of a package, one name a line (alternatives and versions dropped).
pkg_depends() {
	APT_CONFIG=$1 apt-cache show --no-all-versions "$2" |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -E 's/\|.*//; s/\(.*\)//; s/^ +//; s/ +$//' | grep -v '^$' || true
}

