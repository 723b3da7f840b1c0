#!/bin/sh
# Run one libFuzzer target for a bounded time: run.sh TARGET CORPUS WORK SECONDS. Reads the
# checked-in CORPUS, keeps what it finds new in WORK/new (the build tree; copy an input worth
# keeping into CORPUS by hand) and a crashing, leaking, hanging (10 s per input) or
# memory-hungry (2 GiB) input in WORK/artifacts, and fails then. Writes WORK/summary: execs,
# corpus size, findings.
set -u
exe=$1 corpus=$2 work=$3 secs=$4
name=$(basename "$exe")
mkdir -p "$work/new" "$work/artifacts"
src=${CRATIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
"$exe" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=8192 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/new" "$corpus" >"$work/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
seeds=$(find "$corpus" -type f | wc -l)
found=$(find "$work/new" -type f | wc -l)
crashes=$(find "$work/artifacts" -type f | wc -l)
line="$name: ${execs:-?} execs in ${secs} s, $cov, corpus $seeds checked in + $found found, exit $rc, $crashes artifact(s) in $work/artifacts"
echo "$line" >"$work/summary"
echo "$line"
if [ "$rc" -ne 0 ]; then
	grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x|Test unit written' "$work/log" | head -n 60
	exit 1
fi
