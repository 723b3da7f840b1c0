#!/bin/sh
# Exec-plugin parallelism (issue 8): the test plugin tests/plugins/exec/par (Python) sleeps 100 ms
# in every apply and observe.
#   1. apply of 40 resources at -j 1 and -j 8, pool form and `concurrency: 8`; the ideal at -j 8 is
#      40 x 100 ms / 8 = 0.5 s (target: <= 1.2 x the ideal).
#   2. plan (refresh: observe of 40 unchanged resources) at -j 1 and -j 8.
# Usage: sh bench/exec_parallel.sh [BUILD_DIR]   (default: build-release, buildtype=release)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-XXXXXX")
trap 'rm -rf "$W"' EXIT
CRATIS="$PWD/$B/cratis"
export PAR_TARGET=0 PAR_SLEEP_MS=100 PAR_DIR="$W"
mkdir -p "$W/pool" "$W/mux" "$W/p"
cp -r tests/plugins/exec/par "$W/pool/par"
cp -r tests/plugins/exec/par "$W/mux/par"
sed 's/^timeoutSeconds: 30$/timeoutSeconds: 30\nconcurrency: 8/' tests/plugins/exec/par/plugin.yaml >"$W/mux/par/plugin.yaml"
# the interpreter itself, not a version manager's shim script (pyenv's costs ~0.3 s per start)
PY=$(python3 -c 'import sys; print(sys.executable)')
for form in pool mux; do
	sed "1s|.*|#!$PY|" tests/plugins/exec/par/par.py >"$W/$form/par/par.py"
done
i=0
while [ $i -lt 40 ]; do
	printf -- '---\napiVersion: par/v1\nkind: Item\nmetadata: {name: item-%d}\nspec: {n: %d}\n' $i $i
	i=$((i + 1))
done >"$W/p/items.yaml"

# secs FORM ARGS...: median wall time of one cratis command, in seconds
secs() {
	form=$1
	shift
	if command -v hyperfine >/dev/null; then
		CRATIS_PLUGIN_PATH="$W/$form" hyperfine -N --runs 5 --warmup 1 --prepare "${PREP:-true}" \
			--export-json "$W/h.json" "$*" >/dev/null 2>&1
		python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$W/h.json"
	else
		best=""
		for _ in 1 2 3; do
			sh -c "${PREP:-true}"
			t0=$(date +%s%N)
			CRATIS_PLUGIN_PATH="$W/$form" $* >/dev/null 2>&1 || true
			t1=$(date +%s%N)
			t=$(( (t1 - t0) / 1000000 ))
			if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
		done
		python3 -c "print('%.3f' % ($best / 1000))"
	fi
}

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

echo "== 1. apply, 40 resources x 100 ms ($(command -v hyperfine >/dev/null && echo hyperfine, median of 5 || echo best of 3))"
for form in pool mux; do
	fresh="rm -rf $W/p/.cratis"
	a1=$(PREP=$fresh secs $form "$CRATIS" apply -f "$W/p" --auto-approve -j 1)
	a8=$(PREP=$fresh secs $form "$CRATIS" apply -f "$W/p" --auto-approve -j 8)
	echo "$form: -j 1 ${a1}s, -j 8 ${a8}s (speed-up $(ratio "$a1" "$a8")x); -j 8 vs the ideal 0.5 s: $(ratio "$a8" 0.5)x (target <= 1.2x)"
done

echo "== 2. plan (refresh: observe of 40 unchanged resources x 100 ms)"
for form in pool mux; do
	rm -rf "$W/p/.cratis"
	CRATIS_PLUGIN_PATH="$W/$form" PAR_SLEEP_MS=0 "$CRATIS" apply -f "$W/p" --auto-approve -j 8 >/dev/null 2>&1
	r1=$(secs $form "$CRATIS" plan -f "$W/p" -j 1)
	r8=$(secs $form "$CRATIS" plan -f "$W/p" -j 8)
	echo "$form: -j 1 ${r1}s, -j 8 ${r8}s (speed-up $(ratio "$r1" "$r8")x); -j 8 vs the ideal 0.5 s: $(ratio "$r8" 0.5)x"
done
