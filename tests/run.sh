#!/bin/sh
# Runs test binaries one after another and summarizes: tests/run.sh <build> <bin>...
# Integration binaries start their own PostgreSQL, Redis and service processes
# in a throwaway folder under <build>/test-tmp and stop them when they finish.
set -u
build=$1
shift
mkdir -p "$build/test-tmp"
export TEST_TMPDIR="$(cd "$build/test-tmp" && pwd)"
export TEST_BUILD_DIR="$(cd "$build" && pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"

failed=""
n=0
for t in "$@"; do
	n=$((n + 1))
	echo "== $(basename "$t")"
	start=$(date +%s)
	# cmocka's exit status leaves out a failed group set-up or teardown (a
	# process that crashed or leaked on its way out): read from the output.
	out="$TEST_TMPDIR/run-$n.out"
	{ "$t"; echo $? >"$out.rc"; } 2>&1 | tee "$out"
	rc=$(cat "$out.rc")
	if grep -q '^\[  FAILED  \] GROUP \(SETUP\|TEARDOWN\)' "$out"; then
		[ "$rc" -ne 0 ] || rc=1
	fi
	rm -f "$out" "$out.rc"
	if [ "$rc" -eq 0 ]; then
		echo "== $(basename "$t"): ok ($(( $(date +%s) - start ))s)"
	else
		echo "== $(basename "$t"): FAILED ($(( $(date +%s) - start ))s)"
		failed="$failed $(basename "$t")"
	fi
done

if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
echo "all $n test binaries passed"
