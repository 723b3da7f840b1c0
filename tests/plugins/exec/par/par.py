#!/usr/bin/env python3
"""Test plugin for tests/e2e/exec_parallel.sh and bench/exec_parallel.sh: kind Item (par/v1).

Every apply/observe counts itself in flight in $PAR_DIR/count ("current max", under a file lock,
shared by all processes of a pool) and then waits until the highest count seen reaches
$PAR_TARGET (or 5 s have passed: then it stops waiting for good and says so in $PAR_DIR/gaveup),
so "8 in flight" is reached whenever cratis really sends 8 at once, however slow the machine.
$PAR_TARGET=0 turns the counting off. $PAR_SLEEP_MS (default 0) is then slept in every apply and observe (for the bench).
Answers are written from one thread per request, so the same program serves both the pool form
and `concurrency: N` (requests multiplexed by id). Each process appends its pid to $PAR_DIR/pids
on the handshake. Item `crashme` kills the process on apply.
"""
import faulthandler
import fcntl
import json
import os
import signal
import sys
import threading
import time

DIR = os.environ.get("PAR_DIR", ".")
TARGET = int(os.environ.get("PAR_TARGET", "1"))
SLEEP = int(os.environ.get("PAR_SLEEP_MS", "0")) / 1000.0
out_lock = threading.Lock()


def counted(delta):
    """Add delta to the in-flight count; returns the highest count seen so far."""
    with open(os.path.join(DIR, "count.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            with open(os.path.join(DIR, "count")) as f:
                cur, top = (int(x) for x in f.read().split())
        except (OSError, ValueError):
            cur, top = 0, 0
        cur += delta
        top = max(top, cur)
        with open(os.path.join(DIR, "count.tmp"), "w") as f:
            f.write(f"{cur} {top}\n")
        os.replace(os.path.join(DIR, "count.tmp"), os.path.join(DIR, "count"))
        return top


def in_flight(work):
    if TARGET <= 0:  # no counting (the bench)
        if SLEEP:
            time.sleep(SLEEP)
        return work()
    top = counted(+1)
    try:
        until = time.monotonic() + 5
        gaveup = os.path.join(DIR, "gaveup")
        while top < TARGET and not os.path.exists(gaveup):
            if time.monotonic() > until:
                open(gaveup, "w").close()
                break
            time.sleep(0.01)
            top = counted(0)
        if SLEEP:
            time.sleep(SLEEP)
        return work()
    finally:
        counted(-1)


def handle(msg):
    reply = {"id": msg["id"]}
    op = msg["op"]
    if op == "handshake":
        with open(os.path.join(DIR, "pids"), "a") as f:
            f.write(f"{os.getpid()}\n")
        reply.update(ok=True, result={"abi": 1})
    else:
        req = msg["request"]
        spec = req.get("spec") or {}
        n = spec.get("n", 0)
        if op == "apply":
            if req["name"] == "crashme":
                # a real crash: SIGSEGV with its default action (main() removed any handler, such
                # as faulthandler's, which would let this thread go on and answer)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGSEGV})
                os.kill(os.getpid(), signal.SIGSEGV)
                time.sleep(60)
            reply.update(ok=True, result=in_flight(lambda: {"outputs": {"n": n, "double": 2 * n}}))
        elif op == "observe":
            prior = (req.get("prior") or {}).get("spec") or {}
            m = prior.get("n", 0)
            reply.update(ok=True, result=in_flight(lambda: {"exists": True, "drift": m % 5 == 0,
                                                           "reason": f"item {m} drifts"}))
        else:
            reply.update(ok=True, result=None)
    line = json.dumps(reply)
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    faulthandler.disable()
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    threads = []
    for line in sys.stdin:
        t = threading.Thread(target=handle, args=(json.loads(line),))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
