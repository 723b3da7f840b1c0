#!/bin/sh
# NATS JetStream sink (issue 13, delivery): nats-server from Debian with JetStream in a temp dir,
# a stream on "cratis.>"; the driver sends events one at a time while the server is killed (-9)
# and restarted mid-stream: the sink reports the lost connection as RETRY, reconnects, and the
# stream then holds every event exactly once by id, in order, on subject prefix + type. Sending
# the first events again (a redelivery) adds nothing: the server drops them by Nats-Msg-Id. A
# stream other than the one the sink expects rejects the event; a server that is down is RETRY.
. "$(dirname "$0")/lib.sh"
SINKDRIVE=${SINKDRIVE:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests/sinkdrive}
command -v nats-server >/dev/null || { echo "nats-server is not installed (Debian package nats-server)"; exit 1; }
PORT=$(free_port)
U="nats://127.0.0.1:$PORT"
N=300

start_nats() {
	nats-server -js -sd "$T/js" -a 127.0.0.1 -p "$PORT" >>"$T/nats.log" 2>&1 &
	NATS_PID=$!
	wait_for 20 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)"
}
stop_nats() { [ -n "${NATS_PID:-}" ] && kill "$NATS_PID" 2>/dev/null; return 0; }
cleanup_hooks="stop_nats"
count_ok() { grep -c '^ok ' "$T/drive.out" 2>/dev/null || echo 0; }

start_nats
check "nats-server with JetStream starts" test -n "$NATS_PID"
"$SINKDRIVE" --create-stream EVENTS --subjects 'cratis.>' --url "$U" >"$T/create.out" 2>&1
expect_rc "the stream is created through libnats" 0 $?

"$SINKDRIVE" --kind nats --url "$U" --stream EVENTS --count $N --interval-ms 10 --timeout-ms 1000 \
	--backoff-initial-ms 20 --backoff-max-ms 200 --max-attempts 100000 >"$T/drive.out" 2>&1 &
DRIVE=$!
wait_for 60 sh -c "[ \$(grep -c '^ok ' '$T/drive.out') -ge 50 ]"
check "events flow before the kill" test "$(count_ok)" -ge 50
kill -9 "$NATS_PID"
wait "$NATS_PID" 2>/dev/null
wait_for 30 grep -q '^retry ' "$T/drive.out"
at_kill=$(count_ok)
check "the killed server is reported as RETRY" grep -q '^retry ' "$T/drive.out"
start_nats
wait "$DRIVE"
expect_rc "the driver delivers everything once the server is back" 0 $?
expect_in "all of them" "delivered $N of $N" "$T/drive.out"
check "the kill was mid-stream (some delivered after the restart)" test "$at_kill" -lt "$N"

"$SINKDRIVE" --read EVENTS --url "$U" >"$T/read.out" 2>"$T/read.err"
expect_rc "the stream reads back" 0 $?
check "the stream holds $N messages" test "$(wc -l <"$T/read.out")" -eq $N
check "each event id exactly once" test "$(cut -d' ' -f3 "$T/read.out" | sort -u | wc -l)" -eq $N
check "in order" sh -c "cut -d' ' -f3 '$T/read.out' | sort -c"
check "on subject prefix + type" test "$(grep -vc ' cratis.dev.cratis.resource.changed ' "$T/read.out")" -eq 0

# a redelivery of the first 100 events (as after a crash before they were marked delivered)
"$SINKDRIVE" --kind nats --url "$U" --stream EVENTS --count 100 >"$T/again.out" 2>&1
expect_rc "a redelivery is acknowledged" 0 $?
"$SINKDRIVE" --read EVENTS --url "$U" >"$T/read2.out" 2>&1
check "duplicates are dropped by Nats-Msg-Id: still $N messages" test "$(wc -l <"$T/read2.out")" -eq $N

# another type: its own subject, with its own prefix
"$SINKDRIVE" --kind nats --url "$U" --stream EVENTS --count 2 --start 1001 --prefix cratis.x. \
	--type dev.cratis.deployment.started >"$T/typed.out" 2>&1
expect_rc "another type publishes" 0 $?
"$SINKDRIVE" --read EVENTS --url "$U" >"$T/read3.out" 2>&1
expect_in "subject = prefix + type" "cratis.x.dev.cratis.deployment.started 00000000-0000-4000-8000-000000001001" "$T/read3.out"

"$SINKDRIVE" --kind nats --url "$U" --stream OTHER --count 1 --start 2000 >"$T/other.out" 2>&1
expect_rc "a stream mismatch is not delivered" 1 $?
expect_in "it is rejected, not retried" "rejected 00000000-0000-4000-8000-000000002000" "$T/other.out"
expect_in "saying why" "expected stream does not match" "$T/other.out"

"$SINKDRIVE" --kind nats --url "$U" --count 1 --prefix nostream. --max-attempts 2 --backoff-initial-ms 10 \
	--timeout-ms 500 >"$T/nostream.out" 2>&1
expect_rc "a subject no stream covers is not delivered" 1 $?
expect_in "it is retried (a stream may be added), then dead-lettered" "dead 00000000-0000-4000-8000-000000000001 attempts=2" "$T/nostream.out"
"$SINKDRIVE" --read EVENTS --url "$U" >"$T/read4.out" 2>&1
expect_not_in "and nothing was stored" "nostream." "$T/read4.out"

"$SINKDRIVE" --kind nats --url "$U" --count 1 --type 'bad type' >"$T/badsubj.out" 2>&1
expect_in "a type that makes no valid subject is rejected" "is not a valid NATS subject" "$T/badsubj.out"

stop_nats
wait "$NATS_PID" 2>/dev/null
"$SINKDRIVE" --kind nats --url "$U" --count 1 --max-attempts 2 --backoff-initial-ms 10 --timeout-ms 500 >"$T/down.out" 2>&1
expect_rc "a server that is down delivers nothing" 1 $?
expect_in "the sink opens anyway and retries, then dead-letters" "dead 00000000-0000-4000-8000-000000000001 attempts=2" "$T/down.out"
expect_in "naming the connection failure" "cannot connect" "$T/down.out"
"$SINKDRIVE" --kind nats --url "http://127.0.0.1:$PORT" --count 1 >"$T/badurl.out" 2>&1
expect_rc "a non-NATS URL is refused at open" 2 $?
expect_in "naming the field" "url: expected a nats:// or tls:// URL" "$T/badurl.out"
"$SINKDRIVE" --kind nats --url "$U" --creds "$T/missing.creds" --count 1 >"$T/creds.out" 2>&1
expect_rc "a missing credentials file is refused at open" 2 $?
expect_in "naming the field" "creds_file: cannot read" "$T/creds.out"
finish
