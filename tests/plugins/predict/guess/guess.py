#!/usr/bin/env python3
"""Test plugin (see plugin.yaml): apply returns outputs {v: spec.value}; plan predicts
{v: spec.predict}, right or wrong."""
import json
import sys


def main():
    for line in sys.stdin:
        msg = json.loads(line)
        reply = {"id": msg["id"], "ok": True, "result": None}
        op = msg["op"]
        spec = (msg.get("request") or {}).get("spec") or {}
        if op == "handshake":
            reply["result"] = {"abi": 1}
        elif op == "plan":
            reply["result"] = {"action": "update", "outputs": {"v": spec.get("predict", "")}}
        elif op == "apply":
            reply["result"] = {"outputs": {"v": spec.get("value", "")}}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
