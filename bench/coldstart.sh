#!/bin/sh
# Cold start (issue 8): `cratis version` and `cratis get` on a tiny applied project (one exec
# Task), each as a ratio against `true` measured in the same run (target <= 2), and the shared
# libraries each run maps (the dynamic loader's trace): libgit2 and libxml2 are opened only by the
# commands that read git or a pom.xml, so neither appears here.
# Usage: sh bench/coldstart.sh [BUILD_DIR] [RUNS]   (default: build-release, 200 runs)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-200}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-coldstart-XXXXXX")
trap 'rm -rf "$W"' EXIT
printf 'apiVersion: exec/v1\nkind: Task\nmetadata: {name: noop}\nspec:\n  apply: ["true"]\n' >"$W/deploy.yaml"
"$C" apply -f "$W" --auto-approve >/dev/null 2>&1
TRUE=$(command -v true)

for cmd in version get; do
	args=""
	[ "$cmd" = get ] && args="-f $W"
	# shellcheck disable=SC2086
	LD_DEBUG=files LD_DEBUG_OUTPUT="$W/ld" "$C" $cmd $args >/dev/null 2>&1
	libs=$(cat "$W"/ld.* | sed -n 's/.*file=\([^ ]*\) .*generating link map.*/\1/p' | sed 's|.*/||' | sort -u)
	rm -f "$W"/ld.*
	echo "cratis $cmd maps $(echo "$libs" | grep -c .) shared objects:" $libs
done
hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$W/cold.json" \
	-n "true" "$TRUE" \
	-n "cratis version" "$C version" \
	-n "cratis get" "$C get -f $W" >"$W/hyperfine.out" 2>&1 || { cat "$W/hyperfine.out"; exit 1; }
python3 - "$W/cold.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ref = r["true"]["median"]
print(f"true (reference): median {ref * 1000:.2f} ms")
for name in ("cratis version", "cratis get"):
    m = r[name]["median"]
    print(f"{name}: median {m * 1000:.2f} ms, ratio {m / ref:.2f} against true (target <= 2)")
PY
