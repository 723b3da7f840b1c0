#!/bin/sh
# The decision loop's cost per tick (docs/experiments.md, "Commands"): an Experiment of three
# variants applied on loopback (real nginx and apps), USERS users (3 access-log lines each, default
# 100,000) appended to the dealer's access log, then `cratis experiment run --interval 0.1` for
# SECONDS (default 20) with no decision possible (minSamples huge): prints the ticks it made, the
# time of the first (which reads the whole log), the CPU time of the run and the record's size.
# Usage: sh bench/experiment_tick.sh [USERS] [SECONDS]
set -u
USERS=${1:-100000}
SECS=${2:-20}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CRATIS=${CRATIS:-$SRC/build/cratis}
T=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-XXXXXX")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
export AP=$(port) PP=$(port)
cat >"$T/shop.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: bench}
spec: {systems: [local], variables: {activePort: "\${env:AP}", previewPort: "\${env:PP}"}}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: web}
spec:
  activePort: "\${activePort}"
  previewPort: "\${previewPort}"
  template:
    command: [python3, "$SRC/tests/e2e/experiment_app.py"]
    env: {VARIANT: a}
    health: {path: /health}
---
apiVersion: cratis/v1
kind: Experiment
metadata: {name: checkout}
spec:
  rollout: web
  variants: [{name: a, control: true}, {name: b, variables: {VARIANT: b}}, {name: c, variables: {VARIANT: c}}]
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
    - {name: errors, kind: ratio, exposure: "/*", conversion: "/*", status: 5xx}
  objective: {metric: buy}
  guardrails: [{metric: errors, threshold: 0.5}]
  duration: {max: 30d, minSamples: 1000000000}
YAML
C() { "$CRATIS" "$@" -f "$T"; }
trap 'C destroy --auto-approve >/dev/null 2>&1; rm -rf "$T"' EXIT
C apply --auto-approve >/dev/null 2>"$T/apply.err" || { cat "$T/apply.err"; exit 1; }
LOG=$(C experiment status -o json | python3 -c 'import json,sys,glob; j=json.load(sys.stdin); print(glob.glob(sys.argv[1] + "/.cratis/run/bench/shop/Experiment-checkout/access-*.log")[0])' "$T")
python3 - "$LOG" "$USERS" <<'EOF'
import random, sys
r = random.Random(5)
line = '{"time":"2026-12-01T15:00:00+00:00","variant":"%s","status":%d,"request_time":0.003,"path":"%s","user":"u%d"}\n'
with open(sys.argv[1], "a") as f:
    for u in range(int(sys.argv[2])):
        v = "abc"[u % 3]
        f.write(line % (v, 200, "/", u) + line % (v, 200 if r.random() < 0.1 else 402, "/buy", u) + line % (v, 200, "/x", u))
EOF
echo "access log: $(wc -l <"$LOG") lines, $(wc -c <"$LOG") bytes"
/usr/bin/time -f "run: %e s wall, %U s user, %S s sys, %M KB max RSS" timeout -s INT "$SECS" "$CRATIS" experiment run -f "$T" --interval 0.1 >/dev/null 2>"$T/run.err"
tail -n 1 "$T/run.err"
C experiment status -o json | python3 -c '
import json, sys
h = json.load(sys.stdin)["history"]
n = len(h)
print("ticks %d; the first at %.2f s (it read the whole log), then one every %.0f ms (interval 100 ms)" %
      (n, h[0]["elapsedSeconds"], 1000 * (h[-1]["elapsedSeconds"] - h[0]["elapsedSeconds"]) / max(n - 1, 1)))
print("exposures", [int(v["exposures"]) for v in h[-1]["variants"]])'
echo "record: $(sqlite3 "$T/.cratis/state.db" 'select length(body) from records') bytes"
