#!/bin/sh
# Pull agents (issue 14, docs/agents.md): convergence time of two agents, each for its own
# pull-mode System with its own directory, from the API call (POST /v1/projects/P/deployments)
# to the server deployment finishing, which happens once both agents have applied the change and
# reported. ROUNDS rounds (default 10), each changing a variable; prints every round, the median
# and the max. Agents reconcile every 60 s, so what is measured is the long poll, not the timer.
# Target: <= 5 s on loopback. A figure, never a test assertion.
# Usage: sh bench/agents.sh [BUILD_DIR] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
ROUNDS=${2:-10}
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
CRATIS="$PWD/$B/cratis"
T=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-agents-XXXXXX")
. tests/server/serve_lib.sh
PIDS=
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	stop_server KILL 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
S="$T/srv"; P="$T/p"
mkdir -p "$P" "$T/a" "$T/b"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: host-a}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: System
metadata: {name: host-b}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [host-a, host-b], variables: {n: "0"}}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: bench}
---
apiVersion: file/v1
kind: File
metadata: {name: a}
spec: {system: host-a, path: "$T/a/n", content: "\${n}\n"}
---
apiVersion: file/v1
kind: File
metadata: {name: b}
spec: {system: host-b, path: "$T/b/n", content: "\${n}\n"}
YAML
TOKEN=$("$CRATIS" token create --state-dir "$S" --subject bench --role admin 2>/dev/null)
printf '%s\n' "$TOKEN" >"$T/token"
start_server "$S" "$T/serve.log"
req POST /v1/projects "$TOKEN" "{\"name\":\"bench\",\"path\":\"$P\"}" >/dev/null
for sys in a b; do
	"$CRATIS" agent --server "$URL" --system "host-$sys" --dir "$T/$sys/agent" --token-file "$T/token" --interval 60 \
		2>>"$T/agent-$sys.log" &
	PIDS="$PIDS $!"
done
ms() { date +%s%3N; }
: >"$T/times"
r=0
while [ "$r" -le "$ROUNDS" ]; do
	sed -i "s/variables: {n: \"[0-9]*\"}/variables: {n: \"$r\"}/" "$P/m.yaml"
	t0=$(ms)
	code=$(req POST /v1/projects/bench/deployments "$TOKEN" '{"env":"staging"}')
	[ "$code" = 202 ] || { echo "round $r: HTTP $code"; cat "$T/resp"; exit 1; }
	id=$(jq_py 'd["id"]' <"$T/resp")
	i=0
	while :; do
		req GET "/v1/deployments/$id" "$TOKEN" >/dev/null
		res=$(jq_py 'd["result"]' <"$T/resp")
		[ "$res" != running ] && break
		i=$((i + 1)); [ $i -lt 3000 ] || { echo "deployment $id did not finish"; exit 1; }
		sleep 0.02
	done
	t1=$(ms)
	[ "$res" = succeeded ] || { echo "round $r: $res"; cat "$T/resp"; exit 1; }
	grep -qx "$r" "$T/a/n" && grep -qx "$r" "$T/b/n" || { echo "round $r: a host did not converge"; exit 1; }
	# round 0 starts the agents' state: not counted
	[ "$r" -eq 0 ] || { echo "round $r: $((t1 - t0)) ms"; echo $((t1 - t0)) >>"$T/times"; }
	r=$((r + 1))
done
python3 - "$T/times" <<'PY'
import statistics, sys
v = [int(x) for x in open(sys.argv[1])]
print(f"agents convergence over {len(v)} rounds (API call to both reports): median {statistics.median(v):.0f} ms, max {max(v)} ms (target <= 5000 ms)")
PY
