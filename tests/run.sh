#!/bin/sh
# README command 2: install what is missing, build, and run every test twice, in a normal build
# and in an AddressSanitizer + UndefinedBehaviorSanitizer build. Ends with "N passed, N failed"
# (counting test programs; each program prints its own checks).
set -u
cd "$(dirname "$0")/.."
sh scripts/setup.sh || exit 1
total_ok=0
total_fail=0
run_suite() { # DIR MESON-SETUP-ARGS...
	dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null || { echo "meson setup $dir failed"; total_fail=$((total_fail + 1)); return; }
	fi
	if ! ninja -C "$dir"; then
		echo "build in $dir failed"
		total_fail=$((total_fail + 1))
		return
	fi
	meson test -C "$dir" --print-errorlogs --num-processes 2
	log="$dir/meson-logs/testlog.json"
	ok=$(grep -c '"result": "OK"' "$log")
	all=$(grep -c '"result": ' "$log")
	echo "$dir: $ok of $all test programs passed"
	total_ok=$((total_ok + ok))
	total_fail=$((total_fail + all - ok))
}
run_suite build
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
echo "$total_ok passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
