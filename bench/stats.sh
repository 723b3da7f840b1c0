#!/bin/sh
# Cost of the experiment decision (issue 12): decide_tick per tick with 3 variants and 2
# guardrails, and Mann-Whitney with the Hodges-Lehmann interval on 2,000 x 2,000 values, in a
# release build (bench/stats_tick.c). The metrics providers' cost (1,000,000 log lines against
# `wc -l`) is measured when they land.
# Usage: sh bench/stats.sh [BUILD_DIR] [TICKS]   (default: build-release, 100000 ticks)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
TICKS=${2:-100000}
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" bench/stats_tick >/dev/null
"$B/bench/stats_tick" "$TICKS"
