#!/bin/sh
# Benchmarks for issue 2, each reported as a ratio against a reference run in the same command:
#   1. plan of 10,000 no-op resources with state recorded, vs parsing the same YAML and reading
#      the same rows (bench/ref_parse); wall time (hyperfine) and peak RSS (/usr/bin/time -v).
#   2. apply of 1,000 independent `true` tasks with -j 2, vs make -j2 running the same commands.
#   3. cold start of `cratis version` and `cratis get` against `true` (bench/coldstart.sh).
# Usage: sh bench/run.sh [BUILD_DIR]   (default: build, configured with buildtype=release)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
command -v hyperfine >/dev/null && [ -x /usr/bin/time ] || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT
CRATIS="$PWD/$B/cratis"

echo "== 1. plan, 10,000 resources (no-op plugin, state recorded)"
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
hyperfine -N --warmup 1 --runs 5 --export-json "$W/plan.json" \
	-n reference "$PWD/$B/bench/ref_parse $W/big/big.yaml $W/big/.cratis/state.db" \
	-n "cratis plan" "$CRATIS plan -f $W/big"
/usr/bin/time -v "$CRATIS" plan -f "$W/big" 2>"$W/rss-plan" >/dev/null
/usr/bin/time -v "$PWD/$B/bench/ref_parse" "$W/big/big.yaml" "$W/big/.cratis/state.db" 2>"$W/rss-ref" >/dev/null
rss_plan=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/rss-plan")
rss_ref=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/rss-ref")
python3 - "$W/plan.json" "$rss_plan" "$rss_ref" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
p, ref = r["cratis plan"]["median"], r["reference"]["median"]
print(f"plan median {p:.3f} s, reference {ref:.3f} s, ratio {p / ref:.2f} (issue 8 target <= 1.5, and < 1 s)")
rp, rr = int(sys.argv[2]), int(sys.argv[3])
print(f"peak RSS plan {rp / 1024:.1f} MiB, reference {rr / 1024:.1f} MiB, ratio {rp / rr:.2f} (target < 100 MiB)")
PY
unset CRATIS_PLUGIN_PATH

echo "== 2. apply of 1,000 independent 'true' tasks, -j 2, vs make -j2"
mkdir -p "$W/tasks"
python3 - "$W/tasks/tasks.yaml" "$W/Makefile" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        f.write(f"---\napiVersion: exec/v1\nkind: Task\nmetadata: {{name: t{i}}}\nspec:\n  apply: [\"true\", \"{i}\"]\n")
with open(sys.argv[2], "w") as f:
    f.write("all: " + " ".join(f"t{i}" for i in range(1000)) + "\n")
    for i in range(1000):
        f.write(f"t{i}:\n\t@true {i}\n.PHONY: t{i}\n")
PY
hyperfine --warmup 1 --runs 5 --export-json "$W/apply.json" \
	--prepare "rm -rf $W/tasks/.cratis" \
	-n "make -j2" "make -s -j2 -f $W/Makefile" \
	-n "cratis apply -j 2" "$CRATIS apply -f $W/tasks --auto-approve -j 2 2>/dev/null"
python3 - "$W/apply.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, m = r["cratis apply -j 2"]["median"], r["make -j2"]["median"]
print(f"apply median {a:.3f} s, make {m:.3f} s, ratio {a / m:.2f} (target <= 1.2)")
PY

echo "== 3. cold start"
sh bench/coldstart.sh "$B"
