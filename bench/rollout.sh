#!/bin/sh
# Release benchmarks (issue 3) on examples/rollout: time from `cratis rollout promote` to the
# first v2 response and from `cratis rollout rollback` to the first v1 response (median of RUNS),
# then requests served and failed under wrk (1 thread, 4 connections, loopback) during a promote,
# against the same wrk run without one.
# Usage: sh bench/rollout.sh [BUILD_DIR] [RUNS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-7}
command -v wrk >/dev/null && command -v nginx >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-rollout-XXXXXX")
cp -r examples/rollout "$W/shop"
rm -rf "$W/shop/.cratis"
sed -i 's/autoPromotion: true/autoPromotion: false/' "$W/shop/shop.yaml"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
export ROLLOUT_ACTIVE_PORT=$(port) ROLLOUT_PREVIEW_PORT=$(port)
trap '"$C" destroy -f "$W/shop" --auto-approve >/dev/null 2>&1; rm -rf "$W"' EXIT
APP_VERSION=v1 "$C" apply -f "$W/shop" --auto-approve >/dev/null 2>&1
"$C" rollout promote -f "$W/shop" >/dev/null 2>&1
python3 - "$C" "$W/shop" "$ROLLOUT_ACTIVE_PORT" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time, urllib.request
c, p, port, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def get():
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode().strip()
def until(want):
    while get() != want:
        pass
promote, rollback = [], []
for i in range(runs):
    new, old = f"v{i + 2}", "v1"  # a new version each run: a rollback is sticky until the spec changes
    subprocess.run([c, "apply", "-f", p, "--auto-approve"], env=dict(os.environ, APP_VERSION=new), check=True, capture_output=True)
    t0 = time.monotonic()
    subprocess.run([c, "rollout", "promote", "-f", p], check=True, capture_output=True)
    until(f"<h1>shop {new}</h1>")
    promote.append(time.monotonic() - t0)
    t0 = time.monotonic()
    subprocess.run([c, "rollout", "rollback", "-f", p], check=True, capture_output=True)
    until(f"<h1>shop {old}</h1>")
    rollback.append(time.monotonic() - t0)
print(f"promote -> first new response: median {statistics.median(promote)*1000:.0f} ms (max {max(promote)*1000:.0f} ms)")
print(f"rollback -> first old response: median {statistics.median(rollback)*1000:.0f} ms (max {max(rollback)*1000:.0f} ms)")
PY
URL="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"
wrk -t1 -c4 -d4s "$URL" >"$W/wrk-ref" 2>&1
APP_VERSION=v2 "$C" apply -f "$W/shop" --auto-approve >/dev/null 2>&1
(sleep 1; "$C" rollout promote -f "$W/shop" >/dev/null 2>&1) &
promoter=$!
wrk -t1 -c4 -d4s "$URL" >"$W/wrk-promote" 2>&1
wait "$promoter"
for f in ref promote; do
	req=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk-$f")
	err=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$W/wrk-$f")
	non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\)/\1/p' "$W/wrk-$f")
	echo "wrk $f: $req requests; socket errors: ${err:-none}; non-2xx: ${non2xx:-0}"
done
