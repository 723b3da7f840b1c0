#!/bin/sh
# Capabilities at scale (issue 15): 1,000 capability resources (200 each of WebApplication,
# ObjectStorage, RelationalDatabase, MessageQueue and Cache) rendered for aws, gcp and azure and
# priced on the three providers (`cratis render` x 3 + `cratis cost`), against `cratis plan` of
# the same manifests, in one hyperfine run; prints both means and the ratio.
# Usage: sh bench/cost.sh [BUILD_DIR] [RUNS]   (default: build-release, 10 runs)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-10}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-cost-XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/p"
{
	printf 'apiVersion: cratis/v1\nkind: Project\nmetadata: {name: big}\nspec:\n  environments: [production]\n---\n'
	printf 'apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: production}\nspec:\n  provider: aws\n  region: eu-west-1\n'
	i=0
	while [ "$i" -lt 200 ]; do
		tiers="small medium large"
		t=$(echo $tiers | cut -d' ' -f$((i % 3 + 1)))
		printf -- '---\napiVersion: core.capabilities/v1\nkind: WebApplication\nmetadata: {name: web%d}\nspec:\n  image: ghcr.io/acme/web:1\n  cpu: %d\n  memory: 2048\n  instances: %d\n' "$i" $((i % 4 + 1)) $((i % 5 + 1))
		printf -- '---\napiVersion: storage.capabilities/v1\nkind: ObjectStorage\nmetadata: {name: bucket%d}\nspec:\n  sizeGb: %d\n' "$i" $((i * 10 + 10))
		printf -- '---\napiVersion: database.capabilities/v1\nkind: RelationalDatabase\nmetadata: {name: db%d}\nspec:\n  tier: %s\n  storageGb: %d\n' "$i" "$t" $((i + 20))
		printf -- '---\napiVersion: messaging.capabilities/v1\nkind: MessageQueue\nmetadata: {name: queue%d}\nspec:\n  retentionSeconds: 86400\n' "$i"
		printf -- '---\napiVersion: cache.capabilities/v1\nkind: Cache\nmetadata: {name: cache%d}\nspec:\n  tier: %s\n' "$i" "$t"
		i=$((i + 1))
	done
} >"$W/p/big.yaml"
export CRATIS_STATE_DIR="$W/state"
# both commands once, to fail early and to show what is measured
"$C" cost -f "$W/p" --env production | grep -E '^TOTAL|^Cheapest'
"$C" plan -f "$W/p" --env production | tail -n 1
RC="$C render -f $W/p --env production --provider aws -o $W/aws >/dev/null && \
$C render -f $W/p --env production --provider gcp -o $W/gcp >/dev/null && \
$C render -f $W/p --env production --provider azure -o $W/azure >/dev/null && \
$C cost -f $W/p --env production >/dev/null"
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/h.json" \
	-n "render x3 + cost (1,000 capabilities, 3 providers)" "sh -c '$RC'" \
	-n "plan (1,000 capabilities)" "$C plan -f $W/p --env production" >&2
python3 - "$W/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))['results']
a, b = r[0], r[1]
print(f"render x3 + cost: {a['mean']*1000:.1f} ms (median {a['median']*1000:.1f}); "
      f"plan: {b['mean']*1000:.1f} ms (median {b['median']*1000:.1f}); "
      f"ratio {a['median']/b['median']:.2f}")
PY
