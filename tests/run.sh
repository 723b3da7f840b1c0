#!/bin/sh
# README command 2: install what is missing, build, and run every test twice, in a normal build
# and in an AddressSanitizer + UndefinedBehaviorSanitizer build, then the unit tests and the
# parallel end-to-end cases a third time in a ThreadSanitizer build, then each libFuzzer target for
# a bounded time (FUZZ_SECONDS, default 20) in a clang build. Ends with "N passed,
# N failed" (counting test programs; each program prints its own checks; a ThreadSanitizer report
# from any process counts as one more failure).
set -u
cd "$(dirname "$0")/.."
sh scripts/setup.sh || exit 1
total_ok=0
total_fail=0
only="" # meson test names to run (empty: all); set for the ThreadSanitizer suite
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
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs --num-processes 2 $only
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
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
# ThreadSanitizer: the unit tests and the end-to-end cases that run work on several threads
# (-j workers, plan's parallel refresh, exec plugin pools, the lease keeper, signal handling).
# Every process writes its reports to build-tsan/tsan/report.PID (plugins and background runs
# too, whose exit status no test sees); halt_on_error makes a racing process fail its test.
# tests/tsan.supp lists what is suppressed, and why.
tsan_e2e="e2e_serve e2e_serve_events e2e_serve_teams e2e_agents e2e_exec_parallel e2e_hello e2e_plugins e2e_exec_plugin e2e_abi e2e_locks e2e_damaged_state e2e_first_open e2e_progress e2e_terminal"
tsan_logs="$(pwd)/build-tsan/tsan"
rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$tsan_logs/report:suppressions=$(pwd)/tests/tsan.supp"
if [ -f build-tsan/build.ninja ] || meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug >/dev/null; then
	known=$(meson test -C build-tsan --list 2>/dev/null | sed -n 's|^cratis:[a-z0-9]* / ||p')
	only=""
	for t in $known; do
		case " $tsan_e2e " in *" $t "*) only="$only $t" ;; esac
		case $t in unit_* | e2e_cancel* | e2e_interrupt* | e2e_signal*) only="$only $t" ;; esac
	done
fi
[ -n "$only" ] || only="--suite unit"
run_suite build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
unset TSAN_OPTIONS
only=""
for r in "$tsan_logs"/report.*; do
	[ -e "$r" ] || continue
	echo "ThreadSanitizer report ($r):"
	cat "$r"
	total_fail=$((total_fail + 1))
done
# libFuzzer (issue 9): each target of tests/fuzz runs FUZZ_SECONDS (default 20) from its
# checked-in corpus in a clang ASan + UBSan build (build-fuzz; only the targets are built); a
# crash, leak, hang or out-of-memory input fails its test (tests/fuzz/run.sh keeps it in
# build-fuzz/tests/fuzz/work/TARGET/artifacts). Each prints its execs, coverage and corpus.
fuzz_secs=${FUZZ_SECONDS:-20}
if { [ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug >/dev/null; } && meson configure build-fuzz -Dfuzz_seconds="$fuzz_secs" >/dev/null; then
	fuzz_targets=$(meson test -C build-fuzz --no-rebuild --list --suite fuzz 2>/dev/null | sed -n 's|^cratis:fuzz / ||p')
	# shellcheck disable=SC2046
	if [ -n "$fuzz_targets" ] && ninja -C build-fuzz $(for t in $fuzz_targets; do echo "tests/fuzz/$t"; done); then
		# shellcheck disable=SC2086
		meson test -C build-fuzz --no-rebuild --print-errorlogs --num-processes 2 $fuzz_targets
		log=build-fuzz/meson-logs/testlog.json
		ok=$(grep -c '"result": "OK"' "$log")
		all=$(grep -c '"result": ' "$log")
		cat build-fuzz/tests/fuzz/work/*/summary 2>/dev/null
		echo "build-fuzz: $ok of $all fuzz targets passed"
		total_ok=$((total_ok + ok))
		total_fail=$((total_fail + all - ok))
	else
		echo "build of the fuzz targets in build-fuzz failed"
		total_fail=$((total_fail + 1))
	fi
else
	echo "meson setup build-fuzz failed (clang: sh scripts/setup.sh)"
	total_fail=$((total_fail + 1))
fi
echo "$total_ok passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
