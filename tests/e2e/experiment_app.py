#!/usr/bin/env python3
"""A tiny shop for the experiment tests, one process per variant, on 127.0.0.1:$PORT.
GET / answers the variant's name (VARIANT); GET /buy succeeds (200) with probability BUY_P, else
402; with FAIL_P every request but /health answers 503 with that probability. Seeded (SEED, else
the variant's name), so that runs are repeatable up to thread scheduling."""
import http.server
import os
import random
import threading

port = int(os.environ["PORT"])
name = os.environ.get("VARIANT", "?")
buy_p = float(os.environ.get("BUY_P", "0.1"))
fail_p = float(os.environ.get("FAIL_P", "0"))
rng = random.Random(os.environ.get("SEED", name))
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        with lock:
            r = rng.random()
        code = 200
        if self.path != "/health" and fail_p and r < fail_p:
            code = 503
        elif self.path.startswith("/buy"):
            code = 200 if r < buy_p else 402
        body = name.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
