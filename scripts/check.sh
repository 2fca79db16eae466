#!/usr/bin/env bash
# Style and static-analysis gates: zero findings, or a committed,
# commented suppression for each.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: scripts/check.sh   (make check)

  checkpatch    checkpatch.pl --strict --no-tree -f on module/, include/,
                kunit/ and examples/ (from the linux-source tree of
                kernel $TWA_TOOLS_KERNEL)
  kernel-doc    scripts/kernel-doc -none -v -Werror (same tree) on include/ and
                module/, and every function the module exports documented
  sparse        the module built with C=2 against kernel $TWA_KERNEL_DEFAULT's headers
  shim          scripts/shim-test.sh: the shim's choices (include/shim/) for
                kernels that lack what $TWA_KERNEL_DEFAULT has, simulated on its headers
  shellcheck    every script
  clang-format  the C++ against .clang-format (--dry-run --Werror)
  clang-tidy    the C++ against userspace-tests/.clang-tidy
  pyflakes      scripts/*.py (pyflakes3), and report.py's host tests
Ends with "N passed, N failed"; exit status 1 on any finding.
USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
need_cmds sparse:sparse shellcheck:shellcheck clang-format:clang-format \
	clang-tidy:clang-tidy cmake:cmake pyflakes3:pyflakes3

passed=0 failed=0
# gate NAME FUNCTION INPUT...: a gate whose inputs (files, tool versions)
# are those it last passed with is not run again. The stamps live in the
# cache, not the clone: a fresh clone of a commit that passed skips them.
gate() {
	local name=$1 fn=$2 key stamp=$TWA_CACHE/check/$1.key
	shift 2
	key=$(inputs_key "$@")
	if up_to_date "$stamp" "$key"; then
		log "=== check: $name: passed before with these inputs"
		passed=$((passed + 1))
		return
	fi
	log "=== check: $name"
	local t0=$SECONDS
	if "$fn"; then
		log "=== check: $name: clean ($((SECONDS - t0))s)"
		passed=$((passed + 1))
		mkdir -p "${stamp%/*}"
		echo "$key" >"$stamp"
	else
		failed=$((failed + 1))
		log "=== check: $name: FINDINGS ($((SECONDS - t0))s)"
	fi
}

kernel_c() { (cd "$TWA_ROOT" && find module include kunit examples -name '*.[ch]' | sort); }

run_checkpatch() {
	local files
	mapfile -t files < <(kernel_c)
	"$TWA_ROOT/scripts/checkpatch.sh" "${files[@]}"
}

# kernel-doc's own warnings, and a function exported without a "/**
# name - ..." comment (kernel-doc does not notice what is missing).
run_kernel_doc() {
	local tree sym fn rc=0
	tree=$("$TWA_ROOT/scripts/fetch-source.sh" "$TWA_TOOLS_KERNEL") || return 1
	(cd "$TWA_ROOT" && "$tree/scripts/kernel-doc" -none -v -Werror include/*.h module/*.c \
		2>&1 | grep -v ': info: ') || true
	(cd "$TWA_ROOT" && "$tree/scripts/kernel-doc" -none -Werror include/*.h module/*.c \
		>/dev/null 2>&1) || rc=1
	while read -r sym; do
		# Exported data (counters, name tables) has no kernel-doc form.
		fn=$(grep -lE "^[a-z].*[ *]$sym\(" "$TWA_ROOT"/module/*.c) || continue
		grep -qE "^ \* $sym - " "$TWA_ROOT"/include/*.h "$TWA_ROOT"/module/*.c || {
			echo "kernel-doc: $sym (exported in ${fn#"$TWA_ROOT"/}) has no /** $sym - ... */"
			rc=1
		}
	done < <(grep -hoE 'EXPORT_SYMBOL\w*\([a-z_]\w*\)' "$TWA_ROOT"/module/*.c |
		sed -E 's/.*\((\w+)\)/\1/')
	[ "$rc" = 0 ] && log "kernel-doc: clean"
	return "$rc"
}

# sparse over a scratch copy built against the default kernel's headers; any line it
# prints about our sources is a finding.
run_sparse() {
	local out log
	(manifest_load "$TWA_KERNEL_DEFAULT") || return 1
	manifest_load "$TWA_KERNEL_DEFAULT"
	out=$TWA_BUILD/sparse
	rm -rf "$out"
	mkdir -p "$out"
	# shellcheck disable=SC2086 # a list of paths
	(cd "$TWA_ROOT" && tar -cf - $TWA_MODULE_SRC) | tar -xf - -C "$out"
	log=$out/sparse.log
	make -C "$M_KDIR" M="$out" CC="$M_CC" C=2 CHECK=sparse modules >"$log" 2>&1 || {
		tail -20 "$log" >&2
		return 1
	}
	if grep -E "^$out/.*(warning|error):" "$log" >&2; then
		return 1
	fi
	log "sparse: $(grep -c '  CHECK' "$log") files clean"
}

run_shim() { "$TWA_ROOT/scripts/shim-test.sh" "$TWA_KERNEL_DEFAULT"; }

run_shellcheck() {
	shellcheck -x "$TWA_ROOT"/scripts/*.sh "$TWA_ROOT"/guest/*.sh "$TWA_ROOT/guest/init" \
		"$TWA_ROOT/.ci/run" "$TWA_ROOT/dkms.conf" "$TWA_ROOT"/dkms/*.sh
}

cxx_files() { find "$TWA_ROOT/userspace-tests" -name '*.cpp' -o -name '*.hpp' | sort; }

run_clang_format() {
	local files
	mapfile -t files < <(cxx_files)
	clang-format --dry-run --Werror "${files[@]}"
}

run_clang_tidy() {
	local b=$TWA_BUILD/userspace-tests dir=$TWA_CACHE/check/clang-tidy f key n=0
	local -a hdrs todo=()
	"$TWA_ROOT/scripts/build-userspace.sh" || return 1
	# A fresh clone whose guest programs came from the cache has no
	# compile database, and clang-tidy without one finds no header (and
	# then false findings): configure the tree, which builds nothing.
	if [ ! -f "$b/compile_commands.json" ]; then
		cmake -S "$TWA_ROOT/userspace-tests" -B "$b" -DCMAKE_BUILD_TYPE=Release \
			>"$b/cmake-tidy.log" 2>&1 || {
			tail -20 "$b/cmake-tidy.log" >&2
			return 1
		}
	fi
	# Per file: a .cpp passed before with the same text, headers, config
	# and clang-tidy is not read again (a change to bench.cpp alone costs
	# one file's minute, not the whole tree's six on two slow cores), and
	# a file with findings does not make the others be read again.
	mapfile -t hdrs < <(find "$TWA_ROOT/userspace-tests" -name '*.hpp' | sort)
	while IFS= read -r -d '' f; do
		key=$(inputs_key "$f" "${hdrs[@]}" "$TWA_ROOT/userspace-tests/.clang-tidy" \
			"$TWA_ROOT/userspace-tests/CMakeLists.txt" "$(version clang-tidy)")
		up_to_date "$dir/${f#"$TWA_ROOT"/}.key" "$key" && continue
		todo+=("$f" "$key" "$dir/${f#"$TWA_ROOT"/}.key")
		n=$((n + 1))
	done < <(find "$TWA_ROOT/userspace-tests" -name '*.cpp' -print0 | sort -z)
	log "clang-tidy: $n files to read (the others passed before as they are)"
	[ "$n" -gt 0 ] || return 0
	# A file a process, as many at once as there are CPUs (one clang-tidy
	# over every file used one core of a cold make check's two); each
	# file's stamp written when it passed.
	# shellcheck disable=SC2016 # expanded by the inner shell
	printf '%s\0' "${todo[@]}" |
		xargs -0 -r -n 3 -P "$(nproc)" sh -c \
			'clang-tidy --quiet -p "$0" "$1" 2>/dev/null && mkdir -p "${3%/*}" && echo "$2" >"$3"' "$b"
}

py_files() { find "$TWA_ROOT/scripts" -name '*.py' | sort; }
run_pyflakes() {
	local files
	mapfile -t files < <(py_files)
	pyflakes3 "${files[@]}" || return 1
	# report.py's and results.py's own tests (report.py's on a captured
	# bench.jsonl).
	python3 -m unittest discover -s "$TWA_ROOT/scripts/tests" -t "$TWA_ROOT/scripts" -q
}

version() { "$1" --version 2>&1 | head -1; }
sh_files() { printf '%s\n' "$TWA_ROOT"/scripts/*.sh "$TWA_ROOT"/guest/*.sh \
	"$TWA_ROOT/guest/init" "$TWA_ROOT/.ci/run" "$TWA_ROOT/dkms.conf" "$TWA_ROOT"/dkms/*.sh; }
mapfile -t kc < <(kernel_c | sed "s#^#$TWA_ROOT/#")
# shellcheck disable=SC2086 # a list of paths
mapfile -t ms < <(src_files $TWA_MODULE_SRC)
mapfile -t sh < <(sh_files)
mapfile -t cxx < <(cxx_files)
gate checkpatch run_checkpatch "${kc[@]}" "$TWA_TOOLS_KERNEL"
gate kernel-doc run_kernel_doc "${kc[@]}" "$TWA_TOOLS_KERNEL"
gate sparse run_sparse "${ms[@]}" "$(version sparse)" "$TWA_KERNEL_DEFAULT" \
	"$TWA_CACHE/kernels/$TWA_KERNEL_DEFAULT/current/kernel.env"
gate shim run_shim "${ms[@]}" "$TWA_ROOT/scripts/shim-test.sh" \
	"$TWA_ROOT/scripts/consumer-case.sh" "$TWA_CACHE/kernels/$TWA_KERNEL_DEFAULT/current/kernel.env"
gate shellcheck run_shellcheck "${sh[@]}" "$(version shellcheck)"
gate clang-format run_clang_format "${cxx[@]}" "$TWA_ROOT/.clang-format" \
	"$(version clang-format)"
gate clang-tidy run_clang_tidy "${cxx[@]}" "$TWA_ROOT/userspace-tests/.clang-tidy" \
	"$TWA_ROOT/userspace-tests/CMakeLists.txt" "$(version clang-tidy)"
mapfile -t py < <(py_files; find "$TWA_ROOT/scripts/tests" "$TWA_ROOT/userspace-tests/fixtures/bench" \
	-type f 2>/dev/null | sort)
gate pyflakes run_pyflakes "${py[@]}" "$(version pyflakes3)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
