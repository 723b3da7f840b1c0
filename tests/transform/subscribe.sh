#!/bin/sh
# messaging subscribe (docs/transform.md): the worker (tests/transform/subscribe/worker.py)
# transformed for aws, gcp and azure, and run through the SDK, against in-memory stand-ins of the
# three client libraries (tests/transform/subscribe/fakes: no SQS, Pub/Sub or Service Bus
# emulator runs here). The SQS stand-in checks every call's parameters against botocore's real
# SQS model; the Service Bus methods used are checked against Debian's python3-azure. Each run
# must acknowledge messages only after the handler returns, release the failing one and the rest
# of its batch, raise the handler's own exception, stop at max_messages and return the count;
# the SDK run prints and does exactly what the transformed run does.
. "$(dirname "$0")/../e2e/lib.sh"
D="$SRC/tests/transform/subscribe"
PY=""
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import botocore, azure.servicebus' 2>/dev/null; then PY=$py; break; fi
done
if [ -z "$PY" ]; then
	fail "python3-botocore or python3-azure missing: run sh scripts/setup.sh"
	finish
	exit 1
fi
"$PY" -c 'import inspect
from azure.servicebus import ServiceBusReceiver as R, ServiceBusSender as S
inspect.signature(R.receive_messages).bind(None, max_message_count=10, max_wait_time=20)
inspect.signature(R.complete_message).bind(None, object())
inspect.signature(R.abandon_message).bind(None, object())
inspect.signature(S.send_messages).bind(None, object())' 2>"$T/sig.err"
expect_rc "the Service Bus methods the rules call take those arguments (python3-azure)" 0 $?
cat >"$T/want" <<'WANT'
handling 1
handling 2
handling 3
handler raised Boom job 3
second subscription handled 3 [3, 4, 5]
left []
WANT
cat >"$T/want.queue" <<'WANT'
[queue] ack {"n": 1}
[queue] ack {"n": 2}
[queue] release {"n": 3}
[queue] release {"n": 4}
[queue] release {"n": 5}
[queue] ack {"n": 3}
[queue] ack {"n": 4}
[queue] ack {"n": 5}
WANT
export GOOGLE_CLOUD_PROJECT=proof AZURE_SERVICEBUS_CONNECTION_STRING=Endpoint=sb://fake.invalid/ AWS_DEFAULT_REGION=us-east-1
for p in aws gcp azure; do
	"$CRATIS" transform --provider "$p" -i "$D/worker.py" -o "$T/worker.$p.py" >/dev/null 2>"$T/transform.err"
	expect_rc "$p: transform the worker" 0 $?
	check "$p: no infrar import left" sh -c "! grep -Eq '^ *(import|from) infrar' '$T/worker.$p.py'"
	(cd "$T" && PYTHONPATH="$D/fakes" "$PY" "$T/worker.$p.py") >"$T/out.$p" 2>"$T/err.$p"
	expect_rc "$p: the transformed worker runs" 0 $?
	if cmp -s "$T/want" "$T/out.$p"; then ok "$p: handled in order, the handler's error raised, the count returned"; else
		fail "$p: output differs"; diff -u "$T/want" "$T/out.$p"; cat "$T/err.$p"; fi
	grep '^\[queue\]' "$T/err.$p" >"$T/queue.$p"
	if cmp -s "$T/want.queue" "$T/queue.$p"; then ok "$p: acknowledged after the handler, failing batch released"; else
		fail "$p: acknowledgements differ"; diff -u "$T/want.queue" "$T/queue.$p"; fi
	(cd "$T" && PYTHONPATH="$D/fakes:$SRC/sdk/python" INFRAR_PROVIDER="$p" "$PY" "$D/worker.py") >"$T/sdk.$p" 2>"$T/sdkerr.$p"
	expect_rc "$p: the untransformed worker runs through the SDK" 0 $?
	check "$p: the SDK prints what the transformed worker printed" cmp -s "$T/out.$p" "$T/sdk.$p"
	grep '^\[queue\]' "$T/sdkerr.$p" >"$T/sdkqueue.$p"
	check "$p: the SDK acknowledges and releases as the transformed worker" cmp -s "$T/queue.$p" "$T/sdkqueue.$p"
done
finish
