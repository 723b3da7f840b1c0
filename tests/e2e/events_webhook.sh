#!/bin/sh
# Webhook sink (issue 13, delivery): against a flaky receiver on loopback (tests/events/receiver.py:
# 500, a hang past the timeout, a closed connection, 429 with Retry-After in seconds and as an
# HTTP-date, then recovery) every event is delivered, in order, each signature verified by the
# receiver's own HMAC code; Retry-After is honoured (the receiver's arrival times: the retry comes
# no sooner than asked); 410 stops the sink (GONE), other 4xx and 3xx reject the event (redirects
# are not followed); binary and structured modes carry the CloudEvents attributes; only http(s)
# URLs are accepted; the secret is never printed.
. "$(dirname "$0")/lib.sh"
SINKDRIVE=${SINKDRIVE:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests/sinkdrive}
RECEIVER="$SRC/tests/events/receiver.py"
SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ID1=00000000-0000-4000-8000-000000000001

# receiver NAME ARGS...: start a receiver logging to $T/NAME.log; its URL in $URL
receiver() {
	name=$1; shift
	python3 "$RECEIVER" --port-file "$T/$name.port" --log "$T/$name.log" "$@" &
	echo $! >>"$T/receivers"
	wait_for 10 test -s "$T/$name.port" || { fail "receiver $name starts"; exit 1; }
	URL="http://127.0.0.1:$(cat "$T/$name.port")/hook"
}
stop_receivers() { [ -f "$T/receivers" ] && for p in $(cat "$T/receivers"); do kill "$p" 2>/dev/null; done; return 0; }
cleanup_hooks="stop_receivers"

# logcheck NAME LOG PYTHON: pass when the Python expression is true of recs (the log's records)
logcheck() {
	if python3 - "$2" "$3" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ok = eval(sys.argv[2], {"recs": recs, "json": json})
sys.exit(0 if ok else 1)
PY
	then ok "$1"; else fail "$1"; sed 's/^/    /' "$2"; fi
}

drive() { "$SINKDRIVE" --kind webhook --timeout-ms 500 --backoff-initial-ms 50 --backoff-max-ms 100 "$@"; }

# --- binary mode, signed, against a receiver that fails every way before it recovers
receiver flaky --secret "$SECRET" --hang 3 --script "500,hang,close,429:1,503,429date:1"
drive --url "$URL" --secret "$SECRET" --count 5 >"$T/flaky.out" 2>&1
expect_rc "every event is delivered through 500, timeout, reset and 429" 0 $?
expect_in "the driver counts them" "delivered 5 of 5" "$T/flaky.out"
expect_in "a 500 is retried" "status=500" "$T/flaky.out"
expect_in "a hang is a timeout, retried" "no answer within 500 ms" "$T/flaky.out"
expect_in "a closed connection is retried" "Empty reply from server" "$T/flaky.out"
expect_in "Retry-After in seconds is read" "status=429 retry_after_ms=1000" "$T/flaky.out"
expect_not_in "the secret is never printed" "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" "$T/flaky.out"
logcheck "the receiver got 11 requests (6 failed attempts, then 5 deliveries)" "$T/flaky.log" "len(recs) == 11"
logcheck "every signature verified by the receiver" "$T/flaky.log" "all(r['sig'] is True for r in recs)"
logcheck "each event answered 200 exactly once, in order" "$T/flaky.log" \
	"[r['webhook_id'][-2:] for r in recs if r['action'] == 'ok'] == ['01','02','03','04','05']"
logcheck "every retry of event 1 keeps its webhook-id" "$T/flaky.log" \
	"all(r['webhook_id'] == '$ID1' for r in recs[:7])"
logcheck "Retry-After: 1 waited for (next arrival >= 1 s later)" "$T/flaky.log" \
	"recs[4]['t'] - recs[3]['t'] >= 1.0"
logcheck "Retry-After as an HTTP-date waited for" "$T/flaky.log" "recs[6]['t'] - recs[5]['t'] >= 1.0"
expect_in "the wait is the Retry-After, not the (100 ms max) backoff" "retry_after_ms=1000 wait=1000 HTTP 429" "$T/flaky.out"
logcheck "binary mode: ce-* headers, datacontenttype, data as the body" "$T/flaky.log" \
	"all(r['ce'].get('ce-specversion') == '1.0' and r['ce'].get('ce-id') == r['webhook_id'] and r['ce'].get('ce-type') == 'dev.cratis.resource.changed' and r['ce'].get('ce-source') == '/projects/demo/environments/staging' and r['ce'].get('ce-subject', '').startswith('Task/t') and r['ce'].get('ce-time', '').endswith('Z') and r['content_type'] == 'application/json' and json.loads(r['body'])['n'] == int(r['webhook_id'][-2:]) for r in recs)"

# --- structured mode, unsigned
receiver structured
drive --url "$URL" --structured --count 3 >"$T/structured.out" 2>&1
expect_rc "structured mode delivers" 0 $?
logcheck "structured mode: application/cloudevents+json with the event as the body" "$T/structured.log" \
	"len(recs) == 3 and all(r['content_type'].startswith('application/cloudevents+json') and json.loads(r['body'])['specversion'] == '1.0' and json.loads(r['body'])['id'] == r['webhook_id'] and json.loads(r['body'])['data'] == {'n': i + 1} and not r['ce'] for i, r in enumerate(recs))"
logcheck "unsigned: no signature header to verify" "$T/structured.log" "all(r['sig'] is None for r in recs)"

# --- a receiver with another secret does not verify (the check can fail)
receiver wrongkey --secret "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
drive --url "$URL" --secret "$SECRET" --count 1 >/dev/null 2>&1
logcheck "a signature made with another secret does not verify" "$T/wrongkey.log" "recs[0]['sig'] is False"

# --- 410 stops the sink; 400 and 302 reject one event and go on
receiver gone --script "ok,410"
drive --url "$URL" --count 5 >"$T/gone.out" 2>&1
expect_rc "a 410 leaves events undelivered" 1 $?
expect_in "410 is reported as GONE" "gone 00000000-0000-4000-8000-000000000002 status=410" "$T/gone.out"
logcheck "nothing is sent after a 410" "$T/gone.log" "len(recs) == 2"
receiver reject --script "400,302"
drive --url "$URL" --count 3 >"$T/reject.out" 2>&1
expect_rc "rejected events are not delivered" 1 $?
expect_in "a 400 rejects the event" "rejected $ID1 status=400" "$T/reject.out"
expect_in "a 302 is not followed: rejected" "rejected 00000000-0000-4000-8000-000000000002 status=302" "$T/reject.out"
expect_in "the next event still goes" "ok 00000000-0000-4000-8000-000000000003 attempts=1" "$T/reject.out"
logcheck "rejected events are not retried" "$T/reject.log" "len(recs) == 3"

# --- a closed port is retried until max attempts, then dead-lettered
PORT=$(free_port)
drive --url "http://127.0.0.1:$PORT/x" --count 1 --max-attempts 3 >"$T/refused.out" 2>&1
expect_rc "an unreachable receiver delivers nothing" 1 $?
expect_in "connection refused is retried, then dead" "dead $ID1 attempts=3" "$T/refused.out"

# --- a malformed secret is refused when the sink opens, naming the field, never the value
"$SINKDRIVE" --kind webhook --url "http://127.0.0.1:1/" --secret "whsec_%%not-base64-Qz9" --count 1 >"$T/badsecret.out" 2>&1
expect_rc "a malformed secret is refused at open" 2 $?
expect_in "naming the field" "webhook secret: expected" "$T/badsecret.out"
expect_not_in "never quoting the value" "not-base64-Qz9" "$T/badsecret.out"

# --- only http and https
"$SINKDRIVE" --kind webhook --url "file:///etc/passwd" --count 1 >"$T/file.out" 2>&1
expect_rc "a file:// URL is refused at open" 2 $?
expect_in "naming the field and what it expects" "url: expected an http:// or https:// URL" "$T/file.out"

finish
