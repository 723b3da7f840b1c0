#!/usr/bin/env python3
"""Example cratis executable plugin: kind Note (notes/v1) writes spec.text to spec.path.

cratis starts this program once per run and sends one JSON request per line on stdin; the
program answers each with one JSON line on stdout carrying the same id. See docs/plugins.md.
"""
import hashlib
import json
import os
import sys


def resolve(req, path):
    return path if os.path.isabs(path) else os.path.join(req["workdir"], path)


def validate(req):
    spec = req["spec"] or {}
    for field in ("path", "text"):
        if not isinstance(spec.get(field), str):
            raise PluginError(f"missing field or not a string: expected {field} as text", f"spec.{field}")
    return None


def apply(req):
    spec = req["spec"]
    path = resolve(req, spec["path"])
    with open(path, "w", encoding="utf-8") as f:
        f.write(spec["text"])
    digest = hashlib.sha256(spec["text"].encode()).hexdigest()
    return {"outputs": {"path": path, "sha256": digest}}


def destroy(req):
    prior = (req.get("prior") or {}).get("spec") or {}
    path = resolve(req, prior.get("path", ""))
    if os.path.exists(path):
        os.remove(path)
    return None


def observe(req):
    prior = (req.get("prior") or {}).get("spec") or {}
    path = resolve(req, prior.get("path", ""))
    if not os.path.exists(path):
        return {"exists": False, "drift": True}
    with open(path, encoding="utf-8") as f:
        same = f.read() == prior.get("text")
    return {"exists": True, "drift": not same, "reason": "" if same else "text changed on disk"}


class PluginError(Exception):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


OPS = {"validate": validate, "apply": apply, "destroy": destroy, "observe": observe}


def main():
    for line in sys.stdin:
        msg = json.loads(line)
        reply = {"id": msg["id"]}
        try:
            if msg["op"] == "handshake":
                reply.update(ok=True, result={"abi": 1})
            else:
                print(json.dumps({"log": f"{msg['op']} {msg['request']['kind']}/{msg['request']['name']}",
                                  "level": "debug"}), flush=True)
                reply.update(ok=True, result=OPS[msg["op"]](msg["request"]))
        except PluginError as e:
            reply.update(ok=False, error={"message": str(e), "field": e.field})
        except Exception as e:  # report, never die: one bad request must not end the run
            reply.update(ok=False, error={"message": f"{type(e).__name__}: {e}"})
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
