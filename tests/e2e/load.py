#!/usr/bin/env python3
"""Bounded HTTP load for the zero-downtime tests: THREADS workers send GET URL, each on a new
connection, until DURATION seconds pass; prints one JSON line: total, failed, and a count per
response body. Loopback only."""
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, duration, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2
u = urllib.parse.urlsplit(url)
assert u.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
lock = threading.Lock()
stats = {"total": 0, "failed": 0, "bodies": {}, "errors": {}}
deadline = time.monotonic() + duration


def worker():
    while time.monotonic() < deadline:
        body, err = None, None
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            c.request("GET", u.path or "/")
            r = c.getresponse()
            data = r.read().decode(errors="replace").strip()
            c.close()
            if r.status == 200:
                body = data
            else:
                err = f"HTTP {r.status}"
        except Exception as e:  # a failed request is what we count
            err = type(e).__name__
        with lock:
            stats["total"] += 1
            if err:
                stats["failed"] += 1
                stats["errors"][err] = stats["errors"].get(err, 0) + 1
            else:
                stats["bodies"][body] = stats["bodies"].get(body, 0) + 1


ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(stats, sort_keys=True))
