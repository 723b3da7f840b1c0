#!/bin/sh
# Plan of 10,000 recorded no-op resources (issue 8), against a reference that only parses the
# same YAML and reads the same rows (bench/ref_parse.c), measured in the same run: wall time
# (hyperfine, median of RUNS), task-clock and page faults (perf stat, when perf is there) and
# peak RSS (/usr/bin/time -v), each as a ratio. Targets: time <= 1.5 x the reference and < 1 s,
# peak RSS < 100 MiB. The plan's output is the same at any -j; -j 1 is timed too, without threads.
# Usage: sh bench/plan.sh [BUILD_DIR] [RUNS]   (default: build-release, 10 runs)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-10}
command -v hyperfine >/dev/null && [ -x /usr/bin/time ] || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-plan-XXXXXX")
trap 'rm -rf "$W"' EXIT
CRATIS="$PWD/$B/cratis"
REF="$PWD/$B/bench/ref_parse"

mkdir -p "$W/big"
python3 - "$W/big/big.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        dep = f"\n  dependsOn: [Noop/r{i - 1}]" if i % 10 else ""
        f.write(f"---\napiVersion: noop/v1\nkind: Noop\nmetadata: {{name: r{i}}}\nspec:\n  value: v{i}\n  size: {i}{dep}\n")
PY
export CRATIS_PLUGIN_PATH="$PWD/$B/tests/plugins/noop"
"$CRATIS" apply -f "$W/big" --auto-approve -j 2 >/dev/null 2>"$W/apply-big.log"
tail -n 1 "$W/apply-big.log"
"$CRATIS" plan -f "$W/big" | tail -n 1
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/plan.json" \
	-n reference "$REF $W/big/big.yaml $W/big/.cratis/state.db" \
	-n "cratis plan" "$CRATIS plan -f $W/big" \
	-n "cratis plan -j 1" "$CRATIS plan -j 1 -f $W/big"
/usr/bin/time -v "$CRATIS" plan -f "$W/big" 2>"$W/rss-plan" >/dev/null
/usr/bin/time -v "$REF" "$W/big/big.yaml" "$W/big/.cratis/state.db" 2>"$W/rss-ref" >/dev/null
rss_plan=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/rss-plan")
rss_ref=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/rss-ref")
clock_plan=0 clock_ref=0 pf_plan=0 pf_ref=0
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
	perf stat -x, -r "$RUNS" -e task-clock,page-faults "$CRATIS" plan -f "$W/big" 2>"$W/perf-plan" >/dev/null
	perf stat -x, -r "$RUNS" -e task-clock,page-faults "$REF" "$W/big/big.yaml" "$W/big/.cratis/state.db" 2>"$W/perf-ref" >/dev/null
	clock_plan=$(awk -F, '$3 == "task-clock" {print $1}' "$W/perf-plan")
	clock_ref=$(awk -F, '$3 == "task-clock" {print $1}' "$W/perf-ref")
	pf_plan=$(awk -F, '$3 == "page-faults" {print $1}' "$W/perf-plan")
	pf_ref=$(awk -F, '$3 == "page-faults" {print $1}' "$W/perf-ref")
fi
python3 - "$W/plan.json" "$rss_plan" "$rss_ref" "$clock_plan" "$clock_ref" "$pf_plan" "$pf_ref" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ref = r["reference"]["median"]
for name in ("cratis plan", "cratis plan -j 1"):
    p = r[name]["median"]
    print(f"{name}: median {p:.3f} s, reference {ref:.3f} s, ratio {p / ref:.2f} (issue 8 target <= 1.5, and < 1 s)")
cp, cr = float(sys.argv[4]), float(sys.argv[5])
if cp and cr:
    print(f"task-clock plan {cp:.1f} ms, reference {cr:.1f} ms, ratio {cp / cr:.2f}; "
          f"page faults {float(sys.argv[6]):.0f} vs {float(sys.argv[7]):.0f}")
rp, rr = int(sys.argv[2]), int(sys.argv[3])
print(f"peak RSS plan {rp / 1024:.1f} MiB, reference {rr / 1024:.1f} MiB, ratio {rp / rr:.2f} (target < 100 MiB)")
PY
