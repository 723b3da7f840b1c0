#!/bin/sh
# The event outbox (issue 13, core half): the added time of an apply of N no-op Tasks (default
# 1,000) that writes its events and delivers them to two file sinks at its end, against the same
# apply with no sink (events are written either way: they are part of each unit of work), as the
# ratio of medians over ROUNDS alternating runs (target <= 1.1); then the file sink's delivery rate
# (events per second, each line fsync'd) of `cratis events deliver` after a redeliver of them all.
# Usage: sh bench/outbox.sh [BUILD_DIR] [N] [ROUNDS]   (default: build, 1000 tasks, 5 rounds)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
N=${2:-1000}
ROUNDS=${3:-5}
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
export CRATIS_PLUGIN_PATH="$PWD/$B/plugins"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-outbox-XXXXXX")
trap 'rm -rf "$W"' EXIT
tasks() {
	i=0
	while [ "$i" -lt "$N" ]; do
		printf -- '---\napiVersion: exec/v1\nkind: Task\nmetadata: {name: t%d, project: b}\nspec:\n  apply: ["true"]\n' "$i"
		i=$((i + 1))
	done
}
for kind in none sinks; do
	mkdir -p "$W/$kind"
	{
		printf 'apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: b}\n'
		if [ "$kind" = sinks ]; then
			printf 'spec:\n  events:\n    sinks:\n      - {name: a, type: file, path: %s/a.ndjson}\n      - {name: b, type: file, path: %s/b.ndjson}\n' "$W" "$W"
		fi
		tasks
	} >"$W/$kind/m.yaml"
done
ms() { date +%s%3N; }
: >"$W/none.times"
: >"$W/sinks.times"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	for kind in none sinks; do
		rm -rf "$W/$kind/.cratis" "$W/a.ndjson" "$W/b.ndjson"
		t0=$(ms)
		"$C" apply -f "$W/$kind" --auto-approve -j 4 >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
		echo $(($(ms) - t0)) >>"$W/$kind.times"
	done
	r=$((r + 1))
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
none=$(median "$W/none.times")
sinks=$(median "$W/sinks.times")
events=$("$C" events list -f "$W/sinks" -o json | grep -c '"specversion"')
lines=$(wc -l <"$W/a.ndjson")
echo "apply of $N no-op Tasks ($events events): no sink ${none} ms, two file sinks ${sinks} ms (median of $ROUNDS); ratio $(awk "BEGIN {printf \"%.3f\", $sinks / $none}")"
echo "sink a received $lines lines"
"$C" events redeliver -f "$W/sinks" --sink a --since 1970-01-01T00:00:00Z >/dev/null
t0=$(ms)
"$C" events deliver -f "$W/sinks" --events-timeout 600 >/dev/null
t=$(($(ms) - t0))
echo "file sink: $events events delivered again in ${t} ms: $(awk "BEGIN {printf \"%.0f\", $events * 1000 / $t}") events/s (one fsync per batch of 256 before they are marked)"
