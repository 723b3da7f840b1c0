#!/usr/bin/env python3
"""Simulated users for the experiment tests (loopback only, bounded, seeded): USERS users, each
with their own cookie jar, on THREADS threads; each visit is GET / (which names the variant that
served it) then GET /buy; every user makes VISITS visits. Prints one JSON line: users, requests,
failed (connection errors and 5xx other than the app's own 503s are counted apart), per variant
the users it served, and "switched": users who saw more than one variant (stickiness). With
--until-file PATH the users keep coming (new users, in rounds) until PATH exists or MAX_SECONDS
pass, so that a decision loop running beside gets traffic. Usage:
experiment_load.py URL USERS [VISITS] [THREADS] [SEED] [--until-file PATH MAX_SECONDS]"""
import http.client
import http.cookiejar
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

args = sys.argv[1:]
until_file, max_s = None, 0.0
if "--until-file" in args:
    i = args.index("--until-file")
    until_file, max_s = args[i + 1], float(args[i + 2])
    del args[i:i + 3]
url = args[0].rstrip("/")
users = int(args[1])
visits = int(args[2]) if len(args) > 2 else 1
threads = int(args[3]) if len(args) > 3 else 4
seed = int(args[4]) if len(args) > 4 else 1
host = urllib.parse.urlsplit(url).hostname
assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"

lock = threading.Lock()
stats = {"users": 0, "requests": 0, "failed": 0, "app_errors": 0, "variants": {}, "switched": 0, "errors": {}}


class NoRedirect(urllib.request.HTTPErrorProcessor):
    def http_response(self, request, response):
        return response


def one_user(uid):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    seen = set()
    req = fail = app = 0
    errs = {}
    for _ in range(visits):
        for path in ("/", "/buy"):
            req += 1
            try:
                with opener.open(url + path, timeout=10) as r:
                    body = r.read().decode(errors="replace").strip()
                    if r.status == 503:
                        app += 1
                    elif r.status >= 500:
                        fail += 1
                        errs[f"HTTP {r.status}"] = errs.get(f"HTTP {r.status}", 0) + 1
                    elif path == "/":
                        seen.add(body)
            except Exception as e:  # a failed request is what we count
                fail += 1
                errs[type(e).__name__] = errs.get(type(e).__name__, 0) + 1
    with lock:
        stats["users"] += 1
        stats["requests"] += req
        stats["failed"] += fail
        stats["app_errors"] += app
        for k, v in errs.items():
            stats["errors"][k] = stats["errors"].get(k, 0) + v
        if len(seen) > 1:
            stats["switched"] += 1
        for v in seen:
            stats["variants"][v] = stats["variants"].get(v, 0) + 1


def run(batch, offset):
    ids = list(range(offset, offset + batch))
    random.Random(seed + offset).shuffle(ids)
    chunks = [ids[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=lambda c=c: [one_user(u) for u in c]) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


start = time.monotonic()
offset = 0
while True:
    run(users, offset)
    offset += users
    if not until_file or os.path.exists(until_file) or time.monotonic() - start > max_s:
        break
print(json.dumps(stats, sort_keys=True))
