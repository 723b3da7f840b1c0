#!/bin/sh
# cratis serve under load (issue 14): wrk (1 thread, 4 connections, 10 s, loopback) on
# GET /v1/deployments (with a bearer token; 20 deployments recorded) and on GET /readyz; prints
# requests/s and the p99 latency of each, and checks that an apply through the API started during
# the first run completes; then the latency of the Server-Sent Events stream (GET
# /v1/events/stream) over 10 more deployments: from an event's time (the store's clock, the same
# machine's with SQLite) to its arrival at a client reading the stream. Usage: sh bench/serve.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
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
# SSE latency: a client on the stream stamps each event's arrival
python3 - "$URL/v1/events/stream" "$TOKEN" "$T/sse.lat" <<'PY2' &
import json, sys, time, urllib.request, datetime
rq = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
out = open(sys.argv[3], "w")
with urllib.request.urlopen(rq) as r:
    for line in r:
        line = line.decode().rstrip("\n")
        if line.startswith("data: "):
            now = time.time()
            ev = json.loads(line[6:])
            t = datetime.datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
            out.write("%.6f\n" % (now - t)); out.flush()
PY2
SSE=$!
sleep 1
n=22
while [ $n -le 31 ]; do [ "$(deploy $n)" = succeeded ] || { echo "deployment $n failed"; exit 1; }; n=$((n + 1)); done
sleep 1
kill $SSE 2>/dev/null || true
python3 - "$T/sse.lat" <<'PY2'
import sys
v = sorted(float(x) for x in open(sys.argv[1]))
if not v:
    sys.exit("SSE: no event arrived")
q = lambda p: v[min(len(v) - 1, int(p * len(v)))] * 1000
print("SSE latency over %d events of 10 deployments (event time to arrival): median %.0f ms, p95 %.0f ms, max %.0f ms" % (len(v), q(0.5), q(0.95), v[-1] * 1000))
PY2
