#!/bin/sh
# Cost of one decision-loop tick from the router's access log (issue 12): 3 variants, 1,000,000
# JSON lines in the format of src/experiment/metrics.h (generated, seeded), read in full by the
# access-log provider (a ratio, a per-request mean and an error ratio) and one decide_tick
# (tests/metrics_read.c --decide), against `wc -l` of the same log in the same hyperfine run.
# Usage: sh bench/experiment_metrics.sh [BUILD_DIR] [LINES] [RUNS]
#        (default: build-release, 1000000 lines, 10 runs)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
LINES=${2:-1000000}
RUNS=${3:-10}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" tests/metrics_read >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-metrics-XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$W/access.log" "$LINES" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(12)
paths = ["/", "/product", "/product", "/cart", "/buy"]
with open(path, "w") as f:
    for i in range(n):
        u = rnd.randrange(100000)
        v = "abc"[u % 3]
        p = paths[rnd.randrange(5)]
        st = 503 if p == "/buy" and rnd.random() < 0.02 else 200
        f.write('{"time":"2026-12-01T12:%02d:%02d+00:00","variant":"%s","status":%d,"request_time":%.3f,'
                '"path":"%s","user":"u%d"}\n' % (i // 60000 % 60, i // 1000 % 60, v, st, rnd.expovariate(20), p, u))
PY
cat >"$W/cfg.json" <<EOF
{"provider": "nginx", "path": "$W/access.log", "variants": ["a", "b", "c"],
 "metrics": [{"name": "buy", "kind": "ratio", "exposure": "/*", "conversion": "/buy"},
             {"name": "latency", "kind": "mean", "field": "request_time"},
             {"name": "errors", "kind": "ratio", "exposure": "/buy", "conversion": "/buy", "status": "5xx"}]}
EOF
"$B/tests/metrics_read" "$W/cfg.json" --decide >"$W/out.json"
echo "log: $(wc -l <"$W/access.log") lines, $(du -h "$W/access.log" | cut -f1); verdict: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$W/out.json")"
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/h.json" \
	-n "provider read + decide_tick" "$B/tests/metrics_read $W/cfg.json --decide" \
	-n "wc -l" "wc -l $W/access.log" >"$W/h.out" 2>&1 || { cat "$W/h.out"; exit 1; }
python3 - "$W/h.json" "$LINES" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
t = r["provider read + decide_tick"]; w = r["wc -l"]
n = int(sys.argv[2])
print(f"provider read + decide_tick: median {t['median']*1000:.1f} ms ({t['median']/n*1e9:.0f} ns/line), "
      f"mean user+sys {(t['user']+t['system'])*1000:.1f} ms")
print(f"wc -l:                       median {w['median']*1000:.1f} ms, mean user+sys {(w['user']+w['system'])*1000:.1f} ms")
print(f"ratio: {t['median']/w['median']:.1f}x wc -l (wall), {(t['user']+t['system'])/(w['user']+w['system']):.1f}x (cpu)")
PY
