#!/bin/sh
# Event sinks (issue 13): 10,000 events delivered one at a time (each acknowledged before the next,
# as the dispatcher does) through the webhook sink to a local receiver and through the NATS sink
# to JetStream, in events per second, each against a reference in the same run:
#   webhook  curl(1) POSTing the same count of bodies to the same receiver over one kept-alive
#            connection (no signing, no CloudEvents headers)
#   nats     the same count of js_Publish calls straight through libnats, each ack awaited, with a
#            body of the same size and a Nats-Msg-Id (tests/events/sinkdrive.c --raw-publish)
# The receiver is tests/events/receiver.py (Python; it verifies every signature), so the webhook
# figures measure the receiver as much as the sink: compare the ratio, not the absolute rate.
# Each is run ROUNDS times, alternating with its reference (a burst of load on a shared machine
# then falls on both alike), and the medians are reported.
# Usage: sh bench/events.sh [BUILD_DIR] [COUNT] [ROUNDS]   (default: build-release, 10000, 3)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
N=${2:-10000}
R=${3:-3}
command -v nats-server >/dev/null && command -v curl >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" tests/sinkdrive >/dev/null
D="$PWD/$B/tests/sinkdrive"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-events-XXXXXX")
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
ms_of() { sed -n 's/.* in \([0-9]*\) ms$/\1/p' "$1" | tail -1; }
median() { python3 -c "import statistics, sys; print(int(statistics.median(int(a) for a in sys.argv[1:])))" "$@"; }
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
rate() { python3 -c "import sys; n, ms = int(sys.argv[1]), int(sys.argv[2]); print('%.0f' % (n / (ms / 1000.0)) if ms else 'inf')" "$1" "$2"; }
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

receiver() { # NAME: start one, its URL in $U
	python3 tests/events/receiver.py --quiet --port-file "$W/$1.port" --log "$W/$1.log" --secret "$SECRET" \
		>"$W/$1.out" 2>&1 &
	PIDS="$PIDS $!"
	i=0; while [ ! -s "$W/$1.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	U="http://127.0.0.1:$(cat "$W/$1.port")/hook"
}

echo "== webhook: $N events, binary mode, signed, to a local receiver (median of $R rounds)"
receiver sink
SU=$U
receiver ref
python3 - "$W/curl.cfg" "$U" "$N" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[3])):
        f.write('url = "%s"\nrequest = "POST"\ndata = "{\\"n\\":%d}"\noutput = "/dev/null"\n' % (sys.argv[2], i))
PY
sink_all=""; curl_all=""
r=1
while [ $r -le $R ]; do
	"$D" --kind webhook --url "$SU" --secret "$SECRET" --count "$N" --quiet >"$W/webhook.out"
	sink_all="$sink_all $(ms_of "$W/webhook.out")"
	t0=$(now_ms)
	curl -s -K "$W/curl.cfg" -H 'Content-Type: application/json'
	curl_all="$curl_all $(( $(now_ms) - t0 ))"
	r=$((r + 1))
done
sink_ms=$(median $sink_all); curl_ms=$(median $curl_all)
bad=$(grep -vc '"sig": true' "$W/sink.log" || true)
echo "  sink:      $(rate "$N" "$sink_ms") events/s ($N in $sink_ms ms; runs:$sink_all; receiver got $(wc -l <"$W/sink.log"), $bad unverified)"
echo "  curl:      $(rate "$N" "$curl_ms") requests/s ($N in $curl_ms ms; runs:$curl_all; receiver got $(wc -l <"$W/ref.log"))"
python3 -c "import sys; print('  ratio:     %.2fx the time of curl' % (int(sys.argv[1]) / int(sys.argv[2])))" "$sink_ms" "$curl_ms"

echo "== nats: $N events to JetStream (file storage), each ack awaited (median of $R rounds)"
P=$(port)
nats-server -js -sd "$W/js" -a 127.0.0.1 -p "$P" >"$W/nats.log" 2>&1 &
PIDS="$PIDS $!"
i=0; while ! "$D" --create-stream EVENTS --subjects 'cratis.>' --url "nats://127.0.0.1:$P" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "nats-server did not start"; exit 1; }; sleep 0.1
done
nats_all=""; raw_all=""
r=1
while [ $r -le $R ]; do
	"$D" --kind nats --url "nats://127.0.0.1:$P" --stream EVENTS --count "$N" --start $((r * 1000000)) --quiet >"$W/nats.out"
	nats_all="$nats_all $(ms_of "$W/nats.out")"
	"$D" --raw-publish "$N" --url "nats://127.0.0.1:$P" >"$W/raw.out"
	raw_all="$raw_all $(ms_of "$W/raw.out")"
	r=$((r + 1))
done
nats_ms=$(median $nats_all); raw_ms=$(median $raw_all)
echo "  sink:      $(rate "$N" "$nats_ms") events/s ($N in $nats_ms ms; runs:$nats_all)"
echo "  libnats:   $(rate "$N" "$raw_ms") publishes/s ($N in $raw_ms ms; runs:$raw_all)"
python3 -c "import sys; print('  ratio:     %.2fx the time of bare libnats' % (int(sys.argv[1]) / int(sys.argv[2])))" "$nats_ms" "$raw_ms"
