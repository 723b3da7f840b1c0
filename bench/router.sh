#!/bin/sh
# Router benchmarks (issue 3): cutover time from `cratis apply` of an upstream switch to the first
# response from the new upstream (median of runs), and requests served and failed under wrk load
# (1 thread, 4 connections, loopback) during switches, against the same wrk run with no switch.
# Usage: sh bench/router.sh [BUILD_DIR] [RUNS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-15}
command -v wrk >/dev/null && command -v nginx >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-router-XXXXXX")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PUB=$(port); B1=$(port); B2=$(port)
mkdir -p "$W/v1" "$W/v2" "$W/p"
echo v1 >"$W/v1/index.html"; echo v2 >"$W/v2/index.html"
python3 -m http.server "$B1" --bind 127.0.0.1 --directory "$W/v1" >/dev/null 2>&1 &
python3 -m http.server "$B2" --bind 127.0.0.1 --directory "$W/v2" >/dev/null 2>&1 &
cleanup() { "$C" destroy -f "$W/p" --auto-approve >/dev/null 2>&1 || true; pkill -f "http[.]server $B1" || true; pkill -f "http[.]server $B2" || true; rm -rf "$W"; }
trap cleanup EXIT
sleep 1
route() { printf 'apiVersion: router/v1\nkind: Route\nmetadata: {name: web}\nspec: {listen: %s, upstream: %s}\n' "$PUB" "$1" >"$W/p/r.yaml"; }
route "$B1"
"$C" apply -f "$W/p" --auto-approve >/dev/null 2>&1

echo "== cutover: apply of a switch -> first response from the new upstream ($RUNS runs)"
python3 - "$C" "$W/p" "$PUB" "$B1" "$B2" "$RUNS" <<'PY'
import statistics, subprocess, sys, time, urllib.request
c, p, pub, b1, b2, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
def route(up):
    open(f"{p}/r.yaml", "w").write(f"apiVersion: router/v1\nkind: Route\nmetadata: {{name: web}}\nspec: {{listen: {pub}, upstream: {up}}}\n")
def get():
    return urllib.request.urlopen(f"http://127.0.0.1:{pub}/", timeout=5).read().decode().strip()
cut, applies = [], []
for i in range(runs):
    want, up = ("v2", b2) if i % 2 == 0 else ("v1", b1)
    route(up)
    t0 = time.monotonic()
    subprocess.run([c, "apply", "-f", p, "--auto-approve"], check=True, capture_output=True)
    t1 = time.monotonic()
    while get() != want:
        pass
    t2 = time.monotonic()
    applies.append(t1 - t0); cut.append(t2 - t0)
print(f"apply median {statistics.median(applies)*1000:.1f} ms; first new response after median {statistics.median(cut)*1000:.1f} ms (max {max(cut)*1000:.1f} ms)")
PY

echo "== wrk -t1 -c4 -d6s during 4 switches, vs the same run with no switch"
route "$B1"; "$C" apply -f "$W/p" --auto-approve >/dev/null 2>&1
wrk -t1 -c4 -d6s "http://127.0.0.1:$PUB/" >"$W/wrk-ref" 2>&1
(for up in "$B2" "$B1" "$B2" "$B1"; do sleep 1; route "$up"; "$C" apply -f "$W/p" --auto-approve >/dev/null 2>&1; done) &
switcher=$!
wrk -t1 -c4 -d6s "http://127.0.0.1:$PUB/" >"$W/wrk-switch" 2>&1
wait "$switcher"
for f in ref switch; do
	req=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$W/wrk-$f")
	err=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$W/wrk-$f")
	non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\)/\1/p' "$W/wrk-$f")
	echo "$f: $req requests; socket errors: ${err:-none}; non-2xx: ${non2xx:-0}"
done
python3 - "$W/wrk-ref" "$W/wrk-switch" <<'PY'
import re, sys
n = [int(re.search(r"(\d+) requests in", open(f).read()).group(1)) for f in sys.argv[1:]]
print(f"throughput during switches / without: {n[1] / n[0]:.2f}")
PY
