#!/usr/bin/env python3
"""One process, `concurrency: 4`: holds requests until 4 are in flight, then answers them in the
reverse order of their arrival, each with its own name: cratis must match answers by id."""
import json
import sys

held = []
for line in sys.stdin:
    msg = json.loads(line)
    if msg["op"] == "handshake":
        print(json.dumps({"id": msg["id"], "ok": True, "result": {"abi": 1}}), flush=True)
        continue
    held.append(msg)
    if len(held) == 4:
        for m in reversed(held):
            print(json.dumps({"log": "answering " + m["request"]["name"], "id": m["id"], "level": "debug"}))
            print(json.dumps({"id": m["id"], "ok": True, "result": {"name": m["request"]["name"]}}), flush=True)
        held = []
