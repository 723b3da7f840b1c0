#!/bin/sh
# Benchmarks for issue 2, each reported as a ratio against a reference run in the same command:
#   1. plan of 10,000 no-op resources with state recorded, vs parsing the same YAML and reading
#      the same rows (bench/ref_parse); wall time, task-clock, page faults, peak RSS (bench/plan.sh).
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
sh bench/plan.sh "$B"

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
