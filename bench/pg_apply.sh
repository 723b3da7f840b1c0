#!/bin/sh
# Apply of 1,000 independent no-op Tasks (`true`, -j 2) with PostgreSQL state against the same
# with SQLite state (issue 11: target <= 2x), in one hyperfine run (median of RUNS), on a
# throwaway local PostgreSQL 15 (tests/pg/with-postgres.sh: loopback TCP, fsync off). Every run
# starts from an empty store whose schema exists (the rows of both deleted before it), so each
# applies all 1,000: 2,000 units of work (mark pending, record with its step) and a deployment.
# Prints both medians and the ratio. Usage: sh bench/pg_apply.sh [BUILD_DIR] [RUNS]
# (default: build-release, 5 runs)
set -eu
cd "$(dirname "$0")/.."
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh tests/pg/with-postgres.sh sh "$0" "$@"
fi
B=${1:-build-release}
RUNS=${2:-5}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-pgapply-XXXXXX")
trap 'rm -rf "$W"' EXIT
CRATIS="$PWD/$B/cratis"
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
PG="$CRATIS_TEST_PG_URL?schema=bench_apply"
mkdir -p "$W/tasks"
python3 - "$W/tasks/tasks.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        f.write(f"---\napiVersion: exec/v1\nkind: Task\nmetadata: {{name: t{i}}}\nspec:\n  apply: [\"true\", \"{i}\"]\n")
PY
unset CRATIS_STATE
# a check that both really apply 1,000 Tasks
"$CRATIS" apply -f "$W/tasks" --auto-approve -j 2 2>&1 >/dev/null | tail -n 1
"$CRATIS" apply -f "$W/tasks" --state "$PG" --auto-approve -j 2 2>&1 >/dev/null | tail -n 1
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/apply.json" \
	--prepare "python3 -c \"import sqlite3; c = sqlite3.connect('$W/tasks/.cratis/state.db'); c.executescript('DELETE FROM resources; DELETE FROM deployments; DELETE FROM steps; DELETE FROM locks'); c.close()\"" \
	--prepare "$PSQL $CRATIS_TEST_PG_URL -qAt -c 'TRUNCATE bench_apply.resources, bench_apply.deployments, bench_apply.steps, bench_apply.locks'" \
	-n "apply 1,000 tasks, sqlite state" "$CRATIS apply -f $W/tasks --auto-approve -j 2" \
	-n "apply 1,000 tasks, postgres state" "$CRATIS apply -f $W/tasks --state $PG --auto-approve -j 2"
python3 - "$W/apply.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
sq, pg = r["apply 1,000 tasks, sqlite state"]["median"], r["apply 1,000 tasks, postgres state"]["median"]
print(f"apply of 1,000 no-op tasks: postgres median {pg:.3f} s, sqlite median {sq:.3f} s, ratio {pg / sq:.2f} (issue 11 target <= 2)")
PY
