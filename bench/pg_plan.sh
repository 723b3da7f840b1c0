#!/bin/sh
# Plan of 10,000 recorded no-op resources with PostgreSQL state against the same with SQLite
# state (issue 11: target <= 2x), in one hyperfine run (median of RUNS), on a throwaway local
# PostgreSQL 15 (tests/pg/with-postgres.sh: loopback TCP, fsync off). Prints both medians and the
# ratio. Usage: sh bench/pg_plan.sh [BUILD_DIR] [RUNS]   (default: build-release, 10 runs)
set -eu
cd "$(dirname "$0")/.."
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh tests/pg/with-postgres.sh sh "$0" "$@"
fi
B=${1:-build-release}
RUNS=${2:-10}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-pgplan-XXXXXX")
trap 'rm -rf "$W"' EXIT
CRATIS="$PWD/$B/cratis"
PG="$CRATIS_TEST_PG_URL?schema=bench_plan"
mkdir -p "$W/big"
python3 - "$W/big/big.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        dep = f"\n  dependsOn: [Noop/r{i - 1}]" if i % 10 else ""
        f.write(f"---\napiVersion: noop/v1\nkind: Noop\nmetadata: {{name: r{i}}}\nspec:\n  value: v{i}\n  size: {i}{dep}\n")
PY
export CRATIS_PLUGIN_PATH="$PWD/$B/tests/plugins/noop"
unset CRATIS_STATE
start=$(date +%s.%N)
"$CRATIS" apply -f "$W/big" --auto-approve -j 2 >/dev/null 2>"$W/apply-sqlite.log"
mid=$(date +%s.%N)
"$CRATIS" apply -f "$W/big" --state "$PG" --auto-approve -j 2 >/dev/null 2>"$W/apply-pg.log"
end=$(date +%s.%N)
python3 -c "import sys; a, b, c = map(float, sys.argv[1:]); print(f'apply of 10,000 resources (one run each): sqlite {b - a:.2f} s, postgres {c - b:.2f} s, ratio {(c - b) / (b - a):.2f}')" "$start" "$mid" "$end"
"$CRATIS" plan -f "$W/big" | tail -n 1
"$CRATIS" plan -f "$W/big" --state "$PG" | tail -n 1
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/plan.json" \
	-n "plan, sqlite state" "$CRATIS plan -f $W/big" \
	-n "plan, postgres state" "$CRATIS plan -f $W/big --state $PG"
python3 - "$W/plan.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
sq, pg = r["plan, sqlite state"]["median"], r["plan, postgres state"]["median"]
print(f"plan of 10,000 recorded resources: postgres median {pg:.3f} s, sqlite median {sq:.3f} s, ratio {pg / sq:.2f} (issue 11 target <= 2)")
PY
