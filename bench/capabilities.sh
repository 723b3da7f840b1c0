#!/bin/sh
# Capabilities at scale (issue 15): 1,000 capability resources (125 each of WebApplication,
# ApiService, BackgroundWorker, ObjectStorage, RelationalDatabase, MessageQueue, PubSub and Cache,
# the API services reading a database's output) rendered for aws, gcp and azure and priced on the
# three providers (`cratis render` x 3 + `cratis cost`), against `cratis plan` of the same
# manifests, in one run: hyperfine when installed, else RUNS timed runs of each in turn (the
# median); prints both and the ratio.
# Usage: sh bench/capabilities.sh [BUILD_DIR] [RUNS]   (default: build-release, 10 runs)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-10}
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-capabilities-XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/p"
python3 - "$W/p/big.yaml" <<'PY'
import sys
tiers = ["small", "medium", "large"]
with open(sys.argv[1], "w") as f:
    f.write("apiVersion: cratis/v1\nkind: Project\nmetadata: {name: big}\nspec:\n  environments: [production]\n")
    f.write("---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: production}\n"
            "spec:\n  provider: aws\n  region: eu-west-1\n")
    def doc(api, kind, name, spec):
        f.write(f"---\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n{spec}")
    for i in range(125):
        t = tiers[i % 3]
        doc("core.capabilities/v1", "WebApplication", f"web{i}",
            f"  image: ghcr.io/acme/web:1\n  cpu: {i % 4 + 1}\n  memory: 2048\n  instances: {i % 5 + 1}\n")
        doc("core.capabilities/v1", "ApiService", f"api{i}",
            f"  image: ghcr.io/acme/api:1\n  cpu: 0.5\n  instances: {i % 3 + 1}\n"
            f"  env: {{DATABASE_HOST: '${{RelationalDatabase/db{i}.outputs.host}}'}}\n")
        doc("core.capabilities/v1", "BackgroundWorker", f"worker{i}",
            f"  image: ghcr.io/acme/worker:1\n  cpu: 0.25\n  memory: 512\n  instances: {i % 2 + 1}\n")
        doc("storage.capabilities/v1", "ObjectStorage", f"bucket{i}", f"  sizeGb: {i * 10 + 10}\n")
        doc("database.capabilities/v1", "RelationalDatabase", f"db{i}", f"  tier: {t}\n  storageGb: {i + 20}\n")
        doc("messaging.capabilities/v1", "MessageQueue", f"queue{i}", "  retentionSeconds: 86400\n")
        doc("messaging.capabilities/v1", "PubSub", f"topic{i}", "  retentionSeconds: 3600\n")
        doc("cache.capabilities/v1", "Cache", f"cache{i}", f"  tier: {t}\n")
PY
export CRATIS_STATE_DIR="$W/state"
# both once, to fail early and to show what is measured
"$C" cost -f "$W/p" --env production | grep -E '^TOTAL|^Cheapest'
"$C" render -f "$W/p" --env production --provider gcp -o "$W/gcp"
"$C" plan -f "$W/p" --env production | tail -n 1
RC="$C render -f $W/p --env production --provider aws -o $W/aws >/dev/null && \
$C render -f $W/p --env production --provider gcp -o $W/gcp >/dev/null && \
$C render -f $W/p --env production --provider azure -o $W/azure >/dev/null && \
$C cost -f $W/p --env production >/dev/null"
PC="$C plan -f $W/p --env production >/dev/null"
if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/h.json" \
		-n "render x3 + cost (1,000 capabilities, 3 providers)" "sh -c '$RC'" \
		-n "plan (1,000 capabilities)" "sh -c '$PC'" >&2
else
	echo "hyperfine is not installed: $RUNS timed runs of each, alternating" >&2
	python3 - "$W/h.json" "$RUNS" "$RC" "$PC" <<'PY'
import json, statistics, subprocess, sys, time
out, runs, cmds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = [[] for _ in cmds]
for c in cmds:
    subprocess.run(c, shell=True, check=True)   # warm-up
for _ in range(runs):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, shell=True, check=True)
        times[i].append(time.perf_counter() - t)
json.dump({"results": [{"mean": statistics.mean(t), "median": statistics.median(t)} for t in times]}, open(out, "w"))
PY
fi
python3 - "$W/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))['results']
a, b = r[0], r[1]
print(f"render x3 + cost: {a['mean']*1000:.1f} ms (median {a['median']*1000:.1f}); "
      f"plan: {b['mean']*1000:.1f} ms (median {b['median']*1000:.1f}); "
      f"ratio {a['median']/b['median']:.2f}")
PY
