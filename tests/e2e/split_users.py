#!/usr/bin/env python3
"""Simulated users of an experiment behind cratis' router (tests/e2e/router_split.sh): each user
has its own cookie jar, makes a first request without a cookie (the router must set one), then
1 to 3 more with it (it must not set another, and must deal the same variant). Seeded: the
requests each user makes are fixed; the variant each is dealt comes from the router's random id.
Usage: split_users.py PORT FIRST COUNT SEED [THREADS]. Prints one JSON object: per variant the
users and the requests, every user's variant, and the violations seen. Loopback only."""
import http.cookiejar
import json
import random
import sys
import threading
import urllib.request

port, first, count, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 4
base = f"http://127.0.0.1:{port}"
lock = threading.Lock()
out = {"users": {}, "requests": {}, "variant_of": {}, "cookies": {}, "violations": []}


def user(uid):
    rnd = random.Random(seed * 1000003 + uid)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    seen, bad, n = [], [], 0
    paths = ["/"] + [rnd.choice(["/", "/product", "/buy"]) for _ in range(rnd.randint(1, 3))]
    for i, path in enumerate(paths):
        with opener.open(base + path, timeout=10) as r:
            body = r.read().decode().split()
            set_cookie = r.headers.get_all("Set-Cookie") or []
        n += 1
        seen.append(body[-1] if body else None)
        if i == 0 and not any(c.startswith("cratis_uid=") and "Max-Age=31536000" in c for c in set_cookie):
            bad.append(f"user {uid}: no Set-Cookie on the first request: {set_cookie}")
        if i > 0 and set_cookie:
            bad.append(f"user {uid}: Set-Cookie on request {i} that carried the cookie: {set_cookie}")
    if len(set(seen)) != 1:
        bad.append(f"user {uid}: saw variants {seen}")
    v = seen[0]
    cookie = next((c.value for c in jar if c.name == "cratis_uid"), None)
    with lock:
        out["users"][v] = out["users"].get(v, 0) + 1
        out["requests"][v] = out["requests"].get(v, 0) + n
        out["variant_of"][str(uid)] = v
        out["cookies"][str(uid)] = cookie
        out["violations"].extend(bad)


def worker(ids):
    for uid in ids:
        try:
            user(uid)
        except Exception as e:  # a failed request is a violation
            with lock:
                out["violations"].append(f"user {uid}: {type(e).__name__}: {e}")


ids = list(range(first, first + count))
ts = [threading.Thread(target=worker, args=(ids[k::threads],)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(json.dumps(out, sort_keys=True))
