#!/usr/bin/env bash
# Every test on every kernel of the matrix (kernels/*.conf): static checks
# and host unit tests, then each kernel's suites under QEMU.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/test.sh [KERNEL...]   (make test [KERNELS="A B"])

Installs missing host packages (as root), then runs make check
(checkpatch, kernel-doc, sparse, shellcheck, clang-format, clang-tidy,
pyflakes and the Python host tests) and the C++ host
unit tests (ctest), builds what each KERNEL needs (once; nothing if nothing
changed), and runs on each what its kernels/KERNEL.conf TESTS ask for:
  dkms   a DKMS build against the kernel's headers
  guest  one boot running smoke, the GoogleTest IPI suite, the example
         consumer, the fuzzer, the race and the fault tests
  nohz   with guest: a nohz_full=1 boot for the IPI suite's NohzFull
         cases, where the kernel's config has CONFIG_NO_HZ_FULL=y
  kunit  the KUnit suites, KTAP parsed on the host
  bench  in the guest boot, a short twa-bench run (2 rounds of 10 items,
         two sweep points, three deadline frontier points) whose report
         must be complete (report.py --check)
  refuse a boot where the module must refuse to load, with a message
         matching the kernel's REFUSAL
  build  alone: the module and the example consumer built (cross-built
         for arm64) against the kernel's headers, no warning; no boot
KERNEL: any of $(kernels_all | paste -sd' ') (default: all
but those with OPT_IN=yes: $(kernels_matrix | paste -sd' ')), or any
Debian kernel as SUITE:PACKAGE (tested with TESTS="dkms guest").
Ends with a line "N passed, N failed"; exit status 1 if anything failed.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
kernels=()
while read -r k; do kernels+=("$k"); done < <(kernels_select "$@")
[ ${#kernels[@]} -gt 0 ] || exit 1

"$TWA_ROOT/scripts/install-deps.sh" || die "cannot install host packages"

passed=0 failed=0 failures=()
# Every step and boot, one record a line, for build/results.json (KCIDB's
# shape, scripts/results.py): KIND KERNEL NAME STATUS START SECONDS EXTRA.
steps=$TWA_BUILD/steps.tsv
mkdir -p "$TWA_BUILD"
: >"$steps"
# note KIND KERNEL NAME RC START SECONDS [EXTRA]
note() {
	local st=PASS
	[ "$4" = 0 ] || st=FAIL
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$st" "$5" "$6" "${7:-}" >>"$steps"
}
# miss KIND KERNEL NAME [EXTRA]: due, and never ran (its build failed).
miss() { printf '%s\t%s\t%s\tMISS\t-\t-\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$steps"; }
# record NAME STATUS SECONDS: count a finished step and say so.
record() {
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
		log "=== $1: ok ($3s)"
	else
		failed=$((failed + 1))
		failures+=("$1${4:+$'\n'$4}")
		log "=== $1: FAILED ($3s)"
	fi
}
# step NAME CMD...: run a step in the foreground. TAG="KIND KERNEL NAME"
# (and TAG_EXTRA) name its record in results.json.
step() {
	local name=$1 t0=$SECONDS e0=$EPOCHSECONDS rc=0 tag=${TAG:-}
	shift
	log "=== $name"
	"$@" || rc=$?
	record "$name" "$rc" $((SECONDS - t0))
	# shellcheck disable=SC2086 # KIND KERNEL NAME, a word each
	[ -z "$tag" ] || note $tag "$rc" "$e0" $((SECONDS - t0)) "${TAG_EXTRA:-}desc=$name"
}
has() { case " $K_TESTS " in *" $1 "*) return 0 ;; esac; return 1; }

TAG="check - check" step "make check (checkpatch, kernel-doc, sparse, shellcheck, clang-format, clang-tidy, pyflakes)" \
	"$TWA_ROOT/scripts/check.sh"
TAG="check - host-unit-tests" step "host unit tests" "$TWA_ROOT/scripts/build-userspace.sh" --test
# The user's side: the Debian packages built with Debian's tools and
# lintian-clean of errors, DKMS skipping a kernel it cannot build for, and
# make bench refusing this host (it has no module support) with the reason.
TAG="check - deb" step "Debian packages (make deb, lintian)" "$TWA_ROOT/scripts/build-deb.sh"
TAG="check - dkms-exclusion" step "DKMS skips a kernel without TIF_NOTIFY_SIGNAL" \
	"$TWA_ROOT/scripts/dkms-test.sh" --exclusion
# make bench on a host without module support (this project's build
# machines): it must stop at once, exit 3, with that reason, and write
# nothing. A host with modules is not one to load ours on from a test.
bench_refuses_host() {
	local out rc=0 res=$TWA_BUILD/bench-refusal
	if [ -e /proc/modules ]; then
		log "this host has module support: the refusal has no host to be tested on here"
		return 0
	fi
	rm -rf "$res"
	out=$("$TWA_ROOT/scripts/bench.sh" --short --results "$res" 2>&1) || rc=$?
	echo "$out" >&2
	[ "$rc" = 3 ] && grep -q 'has no module support' <<<"$out" && [ ! -e "$res" ] &&
		[ ! -e "$TWA_BUILD/bench-host" ] && return 0
	log "make bench: exit $rc (want 3), or no 'has no module support', or it wrote $res"
	return 1
}
TAG="check - bench-refusal" step "make bench refuses a host without module support" bench_refuses_host
# Every kernel prepared once, in one step: Debian's fetched, each suite's
# build root made once with all the compilers its kernels need, the source
# kernels built, a manifest written for each (scripts/prepare-kernel.sh).
# Everything after reads the manifests; nothing fetches or builds a kernel.
TAG="build - prepare" step "prepare ${#kernels[@]} kernels (fetch, build roots, source builds, manifests)" \
	"$TWA_ROOT/scripts/prepare-kernel.sh" "${kernels[@]}"
# Build once: every kernel's boot artefacts before any boot. A kernel whose
# TESTS is only build gets its modules built, warnings failing it, and no
# boot.
for k in "${kernels[@]}"; do
	kernel_conf "$k"
	extra="arch=$K_ARCH;${K_CONFIG:+config=$K_CONFIG;}"
	if [ "$K_TESTS" = build ]; then
		TAG="build $k build" TAG_EXTRA=$extra step "build $k: module and consumer only ($K_ARCH)" \
			"$TWA_ROOT/scripts/build-module.sh" "$k"
	elif [ "$K_TESTS" != install ]; then
		TAG="build $k build" TAG_EXTRA=$extra step "build $k" "$TWA_ROOT/scripts/mkinitramfs.sh" "$k"
	fi
	# The user's install boots a full Debian root, made here (cached),
	# and no initramfs of ours.
	if has install; then
		TAG="build $k install-root" TAG_EXTRA=$extra step "build $k: the user's Debian root" \
			"$TWA_ROOT/scripts/user-install.sh" --prepare "$k"
	fi
done
progs="smoke twa-ipi-tests consumer fuzz races faults"
# One boot for a kernel's guest programs; where it has KUnit too, its
# suites run in the same boot (first, on a fresh module) and their KTAP is
# judged after it.
guest_boot() {
	local k=$1 p=$2 rc=0
	shift 2
	"$TWA_ROOT/scripts/qemu-run.sh" --built --name tests --tests "$p" "$@" "$k" || rc=1
	if [[ " $p " == *" kunit "* ]]; then
		"$TWA_ROOT/scripts/kunit.sh" --parse tests "$k" || rc=1
	fi
	# A kernel built without an export: the module says it found the
	# function another way (its features file, sent by the guest).
	kernel_conf "$k"
	for sym in $K_UNEXPORT; do
		[[ "$(run_feature "$k" tests "${sym}_kprobe")" == ok* ]] || {
			log "$k: features does not say $sym was reached by a kprobe lookup"
			rc=1
		}
	done
	# The bench's report must build from what it wrote (if it wrote it:
	# a bench that did not finish has failed above already).
	local jsonl=$TWA_BUILD/$k/runs/tests/files/twa-bench/bench.jsonl
	if [[ " $p " == *" twa-bench "* ]] && [ -f "$jsonl" ]; then
		python3 "$TWA_ROOT/scripts/report.py" --check --out "$TWA_BUILD/$k/runs/tests/report" \
			"$jsonl" >/dev/null || rc=1
	fi
	return "$rc"
}
jobs=() # "NAME|COMMAND ARGS..." with words separated by tabs
declare -A job_rec=() # NAME: "KIND KERNEL RUN EXTRA" of its record
# add_job NAME "KIND KERNEL RUN [EXTRA]" COMMAND ARGS...
add_job() {
	local name=$1 IFS=$'\t'
	job_rec[$name]=$2
	shift 2
	jobs+=("$name|$*")
}
for k in "${kernels[@]}"; do
	kernel_conf "$k"
	p=$progs
	has kunit && p="kunit $p"
	has bench && p="$p twa-bench"
	if [ "$K_TESTS" != install ] && [ ! -f "$TWA_BUILD/$k/initrd.gz" ]; then # its build failed above
		has dkms && miss dkms "$k" dkms
		if has guest; then miss boot "$k" tests "progs=$p"; elif has kunit; then miss kunit "$k" kunit; fi
		has refuse && miss boot "$k" refuse
		has install && miss boot "$k" install
		continue
	fi
	if has dkms; then
		TAG="dkms $k dkms" step "$k: DKMS build" "$TWA_ROOT/scripts/dkms-test.sh" "$k"
	fi
	if has guest; then
		what=guest
		if has kunit; then what="guest + kunit"; fi
		if has bench; then what="$what + bench"; fi
		add_job "$k: $what" "boot $k tests progs=$p" guest_boot "$k" "$p" \
			--args-for fuzz "$K_FUZZ_WRITES" \
			--args-for races "$K_UNLOADS $K_EXIT_CYCLES $K_CONCURRENT_ITEMS" \
			--args-for faults "$K_FAULT_ITEMS $K_HOTPLUG_CYCLES $K_FAULT_FAILS" \
			--append "TWA_ITEMS=$K_IPI_ITEMS" \
			--args-for twa-bench "--rounds 2 --items 10 --warmup-items 2 --ops 10 --rates 1000,0 --sweep-seconds 0.15 --deadlines 0,1000,none --frontier-rates 1000 --frontier-seconds 0.15"
		# The NohzFull cases are the same code on every kernel: one boot a
		# family (6.1, 7.x, rt-7.x, 7.x-arm64) asks for it (TESTS nohz),
		# 11-22 s each under TCG; the kernel's config says if it can.
		if has nohz && ! has_offer "$(manifest_key "$k" OFFERS)" nohz_full; then
			log "$k: TESTS asks for nohz, but the kernel has no CONFIG_NO_HZ_FULL: no nohz boot"
		elif has nohz; then
			add_job "$k: guest nohz_full=1" "boot $k nohz progs=twa-ipi-tests" \
				"$TWA_ROOT/scripts/qemu-run.sh" --built --name nohz \
				--append nohz_full=1 --tests twa-ipi-tests \
				--args "--gtest_filter=Ipi.NohzFull*" "$k"
		fi
	elif has kunit; then
		add_job "$k: kunit" "kunit $k kunit" "$TWA_ROOT/scripts/kunit.sh" "$k"
	fi
	if has install; then
		add_job "$k: user's install" "boot $k install" "$TWA_ROOT/scripts/user-install.sh" "$k"
	fi
	if has refuse; then
		add_job "$k: module refuses to load" "boot $k refuse" \
			"$TWA_ROOT/scripts/qemu-run.sh" --built --name refuse \
			--refused "$K_REFUSAL" "$k"
	fi
done

# Boots run TWA_JOBS (default 2) at a time, longest first (as measured
# last time, $TWA_CACHE/test-times: in the cache, so a fresh clone with a
# warm cache, as CI's, starts the longest boots first too). Two boots of 2 vCPUs each on a 2-core host
# are slower each but finish the matrix in about half the time; TWA_JOBS=1
# when a run must not share the CPUs.
times=$TWA_CACHE/test-times
logs=$TWA_BUILD/test-logs
mkdir -p "$logs"
touch "$times"
# Never measured: first, as it may be the longest; of those, the user's
# install (the longest: 358 s in a cold run that started it 14th of 18),
# the kernels with KUnit (the debug kernels: 305 s) and then another
# architecture's (emulated arm64), before the rest: a cold run's order
# then matches a warm one's (the cold run's queue was alphabetical, and
# its three debug boots came last).
last_time() {
	local guess=99997
	case "$1" in
	*"user's install"*) guess=100000 ;;
	*kunit*) guess=99999 ;;
	*-arm64:*) guess=99998 ;;
	esac
	awk -F'|' -v n="$1" -v g="$guess" '$1 == n { t = $2 } END { print (t == "" ? g : t) }' "$times"
}
mapfile -t jobs < <(for j in "${jobs[@]}"; do
	printf '%s|%s\n' "$(last_time "${j%%|*}")" "$j"
done | sort -s -t'|' -k1,1nr | cut -d'|' -f2-)
declare -A job_name=() job_start=() job_log=() job_epoch=()
finish() {
	local pid=$1 rc=$2 name=${job_name[$1]} t why kind kern run extra
	t=$((SECONDS - job_start[$pid]))
	read -r kind kern run extra <<<"${job_rec[$name]}"
	note "$kind" "$kern" "$run" "$rc" "${job_epoch[$pid]}" "$t" \
		"${extra:+$extra;}log=${job_log[$pid]};desc=$name"
	cat "${job_log[$pid]}" >&2
	# Why, again in the summary: a long log's tail is what a reader sees.
	why=""
	[ "$rc" = 0 ] || why=$(grep -E '(: FAIL:|: FAIL \(|: failed check: |^\[twa\] error:)' "${job_log[$pid]}" |
		head -8 | sed 's/^/    /' || true)
	record "$name" "$rc" "$t" "$why"
	# Only each job's last time is read: keep only that.
	awk -F'|' -v n="$name" '$1 != n' "$times" >"$times.tmp"
	echo "$name|$t" >>"$times.tmp"
	mv "$times.tmp" "$times"
	unset "job_name[$pid]"
}
max=${TWA_JOBS:-2}
n=0
for j in "${jobs[@]}"; do
	while [ ${#job_name[@]} -ge "$max" ]; do
		wait -n -p done_pid "${!job_name[@]}"
		finish "$done_pid" $?
	done
	name=${j%%|*}
	IFS=$'\t' read -ra cmd <<<"${j#*|}"
	n=$((n + 1))
	log "=== $name: started ($n of ${#jobs[@]}; output when it ends)"
	"${cmd[@]}" >"$logs/$n.log" 2>&1 &
	job_name[$!]=$name job_start[$!]=$SECONDS job_log[$!]=$logs/$n.log job_epoch[$!]=$EPOCHSECONDS
done
while [ ${#job_name[@]} -gt 0 ]; do
	wait -n -p done_pid "${!job_name[@]}"
	finish "$done_pid" $?
done

# The same verdicts, and what each boot brought back, for a program:
# build/results.json in KCIDB's I/O shape (its schema v4.5).
branch=$(git -C "$TWA_ROOT" rev-parse --abbrev-ref HEAD 2>/dev/null || echo HEAD)
commit=$(git -C "$TWA_ROOT" rev-parse HEAD 2>/dev/null || true)
if [ -n "$commit" ]; then
	python3 "$TWA_ROOT/scripts/results.py" --out "$TWA_BUILD/results.json" --commit "$commit" \
		${branch:+$([ "$branch" = HEAD ] || echo --branch "$branch")} \
		--steps "$steps" --runs-dir "$TWA_BUILD" || log "results.json has problems (above)"
fi
# What the fault tests did per kernel (injected failures, hotplug cycles,
# held and killed targets, items queued, run, lost), as a table and JSON.
if "$TWA_ROOT/scripts/fault-figures.sh" --kernels "${kernels[*]}" >"$TWA_BUILD/fault-figures.md" 2>/dev/null; then
	"$TWA_ROOT/scripts/fault-figures.sh" --json --kernels "${kernels[*]}" >"$TWA_BUILD/fault-figures.jsonl"
	log "fault figures: $TWA_BUILD/fault-figures.md (and .jsonl)"
else
	rm -f "$TWA_BUILD/fault-figures.md"
fi
echo
for f in "${failures[@]}"; do echo "failed: $f"; done
[ "$failed" = 0 ] || echo "(each job's full output: $logs/N.log, guest consoles under build/KERNEL/runs/)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
