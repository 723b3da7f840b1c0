#!/bin/sh
# Events end to end (issue 13, proof): deployments through `cratis apply` with three sinks at once
# (a NATS JetStream stream, a flaky signed webhook receiver, a file), while nats-server is killed
# (-9) and restarted between deployments and the receiver answers 500, hangs, closes the
# connection and asks for a pause with Retry-After before it recovers. Afterwards every event of
# the outbox is in the stream exactly once by id and in outbox order per subject, the receiver got each one
# with a verified signature, and the file holds each once: delivered at least once, duplicates
# dropped by Nats-Msg-Id when `cratis events redeliver` sends them all again.
. "$(dirname "$0")/lib.sh"
SRC=${CRATIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SINKDRIVE=${SINKDRIVE:-$SRC/build/tests/sinkdrive}
command -v nats-server >/dev/null || { echo "nats-server is not installed (Debian package nats-server)"; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed"; exit 1; }
NPORT=$(free_port)
NURL="nats://127.0.0.1:$NPORT"
export CRATIS_T_HOOK="whsec_$(printf 'cratis-events-deploy-secret-32by' | base64)"

start_nats() {
	nats-server -js -sd "$T/js" -a 127.0.0.1 -p "$NPORT" >>"$T/nats.log" 2>&1 &
	NATS_PID=$!
	wait_for 20 python3 -c "import socket; socket.create_connection(('127.0.0.1', $NPORT), 1)"
}
stop_all() {
	[ -n "${NATS_PID:-}" ] && kill "$NATS_PID" 2>/dev/null
	[ -n "${RECV_PID:-}" ] && kill "$RECV_PID" 2>/dev/null
	return 0
}
cleanup_hooks="stop_all"

start_nats
"$SINKDRIVE" --create-stream EVENTS --subjects 'cratis.>' --url "$NURL" >"$T/create.out" 2>&1
expect_rc "the stream is created" 0 $?
python3 "$SRC/tests/events/receiver.py" --port-file "$T/recv.port" --log "$T/recv.log" --secret "$CRATIS_T_HOOK" \
	--script "500,hang,close,429:1,503" --hang 3 &
RECV_PID=$!
wait_for 10 test -s "$T/recv.port" || { fail "receiver starts"; exit 1; }
HOOK="http://127.0.0.1:$(cat "$T/recv.port")/hook"

P="$T/p"
mkdir -p "$P"
write_project() { # $1: the text every Task prints (a change makes every Task update)
	cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: ev}
spec:
  secrets:
    hook: {env: CRATIS_T_HOOK}
  events:
    sinks:
      - {name: bus, type: nats, natsUrl: "$NURL", stream: EVENTS, timeout: 1s, maxAttempts: 1000, backoff: {initial: 50ms, max: 200ms}}
      - {name: hook, type: webhook, url: "$HOOK", secret: "\${secret:hook}", timeout: 1s, maxAttempts: 1000, backoff: {initial: 50ms, max: 200ms}}
      - {name: log, type: file, path: $T/events.ndjson}
YAML
	for i in $(seq 1 20); do
		cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: t$i, project: ev}
spec:
  apply: [sh, -c, 'echo $1 $i']
YAML
	done
}
C() { "$CRATIS" "$@" -f "$P" --env dev; }
E() { "$CRATIS" events "$@" -f "$P"; }   # the outbox is the project's, not an environment's

write_project one
C apply --auto-approve --events-timeout 60 >"$T/apply1.out" 2>&1
expect_rc "the first deployment" 0 $?

# the NATS server dies: the next deployment still commits; its events wait in the outbox
kill -9 "$NATS_PID"; wait "$NATS_PID" 2>/dev/null
write_project two
C apply --auto-approve --events-timeout 2 >"$T/apply2.out" 2>&1
expect_rc "a deployment while the NATS server is down succeeds" 0 $?
E sinks -o json >"$T/sinks2.json" 2>&1
check "the NATS sink has a backlog" test "$(jq '[.[] | select(.sink == "bus") | .backlog] | .[0]' "$T/sinks2.json")" -gt 0

# it comes back: the rest is delivered by the next run
start_nats
write_project three
C apply --auto-approve --events-timeout 60 >"$T/apply3.out" 2>&1
expect_rc "the third deployment, the server back" 0 $?
E deliver --events-timeout 60 >"$T/deliver.out" 2>&1
expect_rc "events deliver settles the rest" 0 $?
E sinks -o json >"$T/sinks.json" 2>&1
for s in bus hook log; do
	check "sink $s has no backlog" test "$(jq "[.[] | select(.sink == \"$s\") | .backlog] | .[0]" "$T/sinks.json")" -eq 0
done

E list -o json >"$T/list.json" 2>&1
N=$(jq length "$T/list.json")
jq -r '.[].id' "$T/list.json" >"$T/ids"
check "three deployments made events (at least 3 x 23)" test "$N" -ge 69

"$SINKDRIVE" --read EVENTS --url "$NURL" >"$T/stream.out" 2>&1
expect_rc "the stream reads back" 0 $?
cut -d' ' -f3 "$T/stream.out" >"$T/stream.ids"
check "the stream holds every event of the outbox ($N)" test "$(wc -l <"$T/stream.ids")" -eq "$N"
check "each exactly once" test "$(sort -u "$T/stream.ids" | wc -l)" -eq "$N"
# in order per subject (docs/events.md: an event waiting for its retry holds back only the later
# events of its own subject, so subjects may interleave differently from the outbox)
check "in outbox order per subject" python3 - "$T/list.json" "$T/stream.ids" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
subject = {e["id"]: e.get("subject") or "" for e in events}
def per_subject(ids):
    out = {}
    for i in ids:
        out.setdefault(subject[i], []).append(i)
    return out
want = per_subject([e["id"] for e in events])
got = per_subject([l.strip() for l in open(sys.argv[2]) if l.strip()])
sys.exit(0 if want == got else 1)
PY

# every event sent again (as after a crash before the marks): JetStream drops them by id
E redeliver --sink bus --since 0 >"$T/redeliver.out" 2>&1
expect_rc "redeliver all to the NATS sink" 0 $?
E deliver --events-timeout 60 >"$T/deliver2.out" 2>&1
"$SINKDRIVE" --read EVENTS --url "$NURL" >"$T/stream2.out" 2>&1
check "still $N messages: duplicates dropped by Nats-Msg-Id" test "$(wc -l <"$T/stream2.out")" -eq "$N"

# the webhook: every event arrived with a verified signature despite the failures
jq -r 'select(.action == "ok") | .webhook_id' "$T/recv.log" 2>/dev/null | sort -u >"$T/hook.ids"
check "the receiver failed the first five attempts" test "$(jq -r 'select(.action != "ok") | .action' "$T/recv.log" | tr '\n' ' ')" = "500 hang close 429:1 503 "
check "the receiver accepted every event" test "$(wc -l <"$T/hook.ids")" -eq "$N"
check "every accepted request was signed and verified" test "$(jq -r 'select(.action == "ok") | .sig' "$T/recv.log" | sort -u)" = true
check "the file sink holds each event once" test "$(jq -r .id "$T/events.ndjson" | sort | uniq -d | wc -l)" -eq 0 -a \
	"$(jq -r .id "$T/events.ndjson" | sort -u | wc -l)" -eq "$N"
for f in "$T/list.json" "$T/events.ndjson" "$P/.cratis/state.db"; do
	check "the webhook secret is nowhere in $(basename "$f")" sh -c 'test -s "$2" && ! grep -q "$1" "$2"' sh "$CRATIS_T_HOOK" "$f"
done
finish
