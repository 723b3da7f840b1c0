#!/bin/sh
# Cold start (issue 8): `cratis version` and `cratis get` on a tiny applied project (one exec
# Task), each as a ratio against `true` measured in the same run (target <= 2), and the shared
# libraries each run maps (the dynamic loader's trace): libgit2 and libxml2 are opened only by the
# commands that read git or a pom.xml, libcurl only by a Service's HTTP health check and libcrypto
# only by a File's apply or refresh, so none of them appears here. Then what `get` spends its time
# on: each phase (state open and list, loading the plugins, parsing the manifests, building the
# model) in a process of its own (bench/coldstart_phases.c), as its median minus that of a run of
# the same helper that does nothing. The runs are split into ROUNDS hyperfine passes over every
# command, and each median is taken over all of a command's runs: on a shared, noisy machine a
# burst of load then falls on every command alike rather than on whichever was running.
# Usage: sh bench/coldstart.sh [BUILD_DIR] [RUNS] [ROUNDS]   (default: build-release, 200 runs, 20 rounds)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-200}
ROUNDS=${3:-20}
PER=$(((RUNS + ROUNDS - 1) / ROUNDS))
[ "$PER" -ge 2 ] || PER=2
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
PH="$PWD/$B/bench/coldstart_phases"
PLUG="$PWD/$B/plugins"
mkdir -p "$W/exec-only"
ln -s "$PLUG/cratis-exec.so" "$W/exec-only/"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	hyperfine -N --warmup 2 --runs "$PER" --export-json "$W/cold.$r.json" \
		-n "true" "$TRUE" \
		-n "cratis version" "$C version" \
		-n "cratis get" "$C get -f $W" \
		-n "phase: nothing" "$PH none $W $PLUG" \
		-n "phase: state open + list" "$PH s $W $PLUG" \
		-n "phase: load 4 built-in plugins" "$PH p $W $PLUG" \
		-n "phase: load the exec plugin alone" "$PH p $W $W/exec-only" \
		-n "phase: parse manifests" "$PH m $W $PLUG" \
		-n "phase: all (state, plugins, manifests, model)" "$PH spmb $W $PLUG" >"$W/hyperfine.out" 2>&1 || { cat "$W/hyperfine.out"; exit 1; }
	r=$((r + 1))
done
python3 - "$W"/cold.*.json <<'PY'
import json, statistics, sys
times = {}
for f in sys.argv[1:]:
    for x in json.load(open(f))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
r = {name: {"median": statistics.median(t)} for name, t in times.items()}
ref = r["true"]["median"]
print(f"{len(times['true'])} runs of each command, in {len(sys.argv) - 1} rounds")
print(f"true (reference): median {ref * 1000:.2f} ms")
for name in ("cratis version", "cratis get"):
    m = r[name]["median"]
    print(f"{name}: median {m * 1000:.2f} ms, ratio {m / ref:.2f} against true (target <= 2)")
print(f"cratis get - cratis version: {(r['cratis get']['median'] - r['cratis version']['median']) * 1000:+.2f} ms")
base = r["phase: nothing"]["median"]
print(f"phases of get (median minus an empty run of the helper, {base * 1000:.2f} ms):")
for name in r:
    if name.startswith("phase: ") and name != "phase: nothing":
        print(f"  {name[7:]}: {(r[name]['median'] - base) * 1000:+.2f} ms")
PY
