#!/usr/bin/env python3
"""A webhook receiver for the event-sink tests (tests/e2e/events_webhook.sh, bench/events.sh).

Listens on 127.0.0.1 (port 0: any free one, written to --port-file), verifies each request's
Standard Webhooks signature with its own HMAC code (github.com/standard-webhooks/standard-webhooks,
spec "Verifying webhook authenticity": HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
key = base64-decoded secret after "whsec_", else the secret's bytes), and appends one JSON line
per request to --log: arrival time (monotonic seconds), the action taken, the headers that matter,
whether the signature verified, and the body.

--script "500,hang,close,429:2,429date:2,410,400,ok" says how to answer requests 1, 2, 3...:
  CODE        answer that status (200 for "ok")
  hang        read the request, then answer nothing for --hang seconds (past the sender's timeout)
  close       read the request, then close the connection without an answer
  429:N       answer 429 with "Retry-After: N" (seconds)
  429date:N   answer 429 with Retry-After as an HTTP-date N seconds (rounded up) from now
Requests past the end of the script are answered 200 (the receiver has recovered).
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import math
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret, headers, body):
    """True when one of the v1 signatures in webhook-signature is the HMAC of this request."""
    if secret is None:
        return None
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return False
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secret")
    ap.add_argument("--script", default="")
    ap.add_argument("--hang", type=float, default=3.0)
    ap.add_argument("--quiet", action="store_true", help="log only the count (for the bench)")
    args = ap.parse_args()
    script = [s for s in args.script.split(",") if s]
    lock = threading.Lock()
    state = {"n": 0}
    log = open(args.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def do_POST(self):
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                i = state["n"]
                state["n"] += 1
            action = script[i] if i < len(script) else "ok"
            if args.quiet:
                rec = {"n": i, "id": self.headers.get("webhook-id"), "sig": verify(args.secret, self.headers, body)}
            else:
                rec = {
                    "n": i, "t": arrived, "action": action,
                    "webhook_id": self.headers.get("webhook-id"),
                    "webhook_timestamp": self.headers.get("webhook-timestamp"),
                    "sig": verify(args.secret, self.headers, body),
                    "content_type": self.headers.get("Content-Type"),
                    "ce": {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("ce-")},
                    "body": body.decode("utf-8", "replace"),
                }
            log.write(json.dumps(rec) + "\n")
            if action == "hang":
                time.sleep(args.hang)
                self.close_connection = True
                return
            if action == "close":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            extra = {}
            if action == "ok":
                code = 200
            elif action.startswith("429date:"):
                code = 429
                at = math.ceil(time.time()) + int(action.split(":")[1])
                extra["Retry-After"] = email.utils.formatdate(at, usegmt=True)
            elif action.startswith("429:"):
                code = 429
                extra["Retry-After"] = action.split(":")[1]
            else:
                code = int(action)
            reply = b"accepted" if code < 300 else ("answer %d" % code).encode()
            self.send_response(code)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
