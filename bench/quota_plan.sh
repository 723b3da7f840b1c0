#!/bin/sh
# What the namespace quota check costs a plan: `cratis plan` of N Services (each with resources
# requests) in an Environment whose spec.namespace has a quota record in the store, against the
# same project without spec.namespace (no quota check, the requests still parsed), in one hyperfine
# run (median of RUNS), on SQLite state. Another project of M Services is recorded in the namespace
# (bound to it) so the check reads what it holds. Prints both medians and the difference.
# Usage: sh bench/quota_plan.sh [BUILD_DIR] [N] [RUNS] [M]   (default: build, 1000, 10, 20)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
N=${2:-1000}
RUNS=${3:-10}
M=${4:-20}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-quota-XXXXXX")
CRATIS="$PWD/$B/cratis"
S="$W/srv"
export CRATIS_TEST_TMP="$W"
cleanup() {
	"$CRATIS" destroy --state-dir "$S" -f "$W/other" --env staging --auto-approve >/dev/null 2>&1 || true
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
T="$W"
. tests/server/serve_lib.sh
ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
start_server "$S" "$W/serve.log"
req POST /v1/environments "$ADMIN" '{"name":"staging"}' >/dev/null
req POST /v1/teams "$ADMIN" '{"name":"team-a"}' >/dev/null
[ "$(req POST /v1/teams/team-a/namespaces "$ADMIN" '{"environment":"staging","name":"web","quota":{"cpu":"100000","memory":"1Ei","services":100000}}')" = 201 ]
stop_server TERM
# project(DIR NAME SERVICES NAMESPACE)
project() {
	mkdir -p "$1"
	python3 - "$1/m.yaml" "$2" "$3" "$4" <<'PY'
import sys
path, name, n, ns = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(path, "w") as f:
    f.write("apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n---\n")
    f.write("apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\nspec:\n  systems: [local]\n")
    if ns:
        f.write(f"  namespace: {ns}\n")
    f.write(f"---\napiVersion: cratis/v1\nkind: Project\nmetadata: {{name: {name}}}\n")
    for i in range(n):
        f.write(f"---\napiVersion: service/v1\nkind: Service\nmetadata: {{name: s{i}}}\n"
                f"spec:\n  command: [sleep, \"600\"]\n  resources: {{cpu: 10m, memory: 16Mi}}\n")
PY
}
project "$W/other" other "$M" team-a/web
"$CRATIS" apply --state-dir "$S" -f "$W/other" --env staging --auto-approve -j 4 >/dev/null 2>&1
project "$W/quota" big "$N" team-a/web
project "$W/plain" big "$N" ""
hyperfine -N -w 1 -r "$RUNS" --export-json "$W/h.json" \
	"$CRATIS plan --state-dir $S -f $W/quota --env staging" \
	"$CRATIS plan --state-dir $S -f $W/plain --env staging" >"$W/h.out" 2>&1 || { cat "$W/h.out"; exit 1; }
python3 - "$W/h.json" "$N" "$M" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
q, p = r[0]["median"], r[1]["median"]
print(f"plan of {sys.argv[2]} Services, {sys.argv[3]} more recorded in the namespace: "
      f"with the quota check {q*1000:.1f} ms, without {p*1000:.1f} ms (median), difference {(q-p)*1000:+.1f} ms")
PY
