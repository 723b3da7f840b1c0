#!/bin/sh
# cratis serve under load (issue 14): wrk (1 thread, 4 connections, 10 s, loopback) on
# GET /v1/deployments (with a bearer token; 20 deployments recorded) and on GET /readyz; prints
# requests/s and the p99 latency of each, and checks that an apply through the API started during
# the first run completes. Usage: sh bench/serve.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
SECS=${2:-10}
CONNS=${3:-4}
command -v wrk >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
CRATIS="$PWD/$B/cratis"
T=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-serve-XXXXXX")
. tests/server/serve_lib.sh
cleanup() { stop_server KILL 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
S="$T/srv"; P="$T/p"
mkdir -p "$P"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [local], variables: {n: "0"}}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: bench}
---
apiVersion: exec/v1
kind: Task
metadata: {name: t}
spec:
  apply: [sh, -c, 'echo \${n} >"$T/n"']
YAML
TOKEN=$("$CRATIS" token create --state-dir "$S" --subject bench --role admin 2>/dev/null)
start_server "$S" "$T/serve.log"
req POST /v1/projects "$TOKEN" "{\"name\":\"bench\",\"path\":\"$P\"}" >/dev/null
deploy() { # N: change the variable, apply through the API, wait for the result
	sed -i "s/variables: {n: \"[0-9]*\"}/variables: {n: \"$1\"}/" "$P/m.yaml"
	code=$(req POST /v1/projects/bench/deployments "$TOKEN" '{"env":"staging"}')
	[ "$code" = 202 ] || { echo "deploy $1: HTTP $code"; cat "$T/resp"; exit 1; }
	id=$(jq_py 'd["id"]' <"$T/resp")
	i=0
	while :; do
		req GET "/v1/deployments/$id" "$TOKEN" >/dev/null
		r=$(jq_py 'd["result"]' <"$T/resp")
		[ "$r" != running ] && break
		i=$((i + 1)); [ $i -lt 1200 ] || { echo "deployment $id did not finish"; exit 1; }
		sleep 0.05
	done
	echo "$r"
}
n=1
while [ $n -le 20 ]; do [ "$(deploy $n)" = succeeded ] || { echo "deployment $n failed"; exit 1; }; n=$((n + 1)); done
report() { # NAME WRK-OUTPUT
	rps=$(sed -n 's/^Requests\/sec: *//p' "$2")
	p99=$(awk '$1 == "99%" { print $2 }' "$2")
	errs=$(grep -E 'Non-2xx|Socket errors' "$2" || true)
	echo "$1: $rps requests/s, p99 $p99${errs:+ ($errs)}"
}
echo "== wrk -t1 -c$CONNS -d${SECS}s, loopback, $("$CRATIS" version | head -1), build $B"
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL/v1/deployments" >"$T/wrk1" 2>&1 &
WRK=$!
sleep 1
apply_result=$(deploy 21)
wait $WRK
report "GET /v1/deployments (20 deployments)" "$T/wrk1"
echo "apply through the API during that load: $apply_result"
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$URL/readyz" >"$T/wrk2" 2>&1
report "GET /readyz" "$T/wrk2"
[ "$apply_result" = succeeded ]
