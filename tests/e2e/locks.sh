#!/bin/sh
# Locks are leases: `cratis state unlock ID` of a live holder is refused (exit 1, naming the
# holder, pointing at --force) and works with --force, which interrupts the holder (its
# deployment is closed as interrupted; the holder fails when it finds its lock gone); a lock left
# by a run killed with -9 is taken over by the next apply, which warns, and history then shows
# the killed run's deployment as interrupted (not running); a dead holder's lock is released by
# `state unlock` without --force, closing its deployment as interrupted too.
# The Task waits for a gate file, so each run holds its lock exactly as long as the test wants.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
GATE="$T/gate"
export GATE
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: slow}
spec:
  system: local
  apply: [sh, -c, 'while [ ! -e "$0" ]; do sleep 0.1; done', "${env:GATE}", "${env:RUN}"]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
lock_id() { C state list 2>/dev/null | sed -n 's/^lock \([^ ]*\) on environment .*/\1/p'; }
locked() { [ -n "$(lock_id)" ]; }
no_lock() { C state list >"$T/state.list" 2>&1 && ! grep -q '^lock ' "$T/state.list"; }
holding() { C state list 2>/dev/null | grep -q "demo/Task/slow	pending"; }
open_gate() { touch "$GATE"; }
cleanup_hooks="open_gate"

# start_blocked_apply RUN: an apply in the background (its pid in $apid) that holds the lock with
# its Task waiting at the closed gate; RUN changes the Task's spec so every run applies it
start_blocked_apply() {
	rm -f "$GATE"
	RUN=$1 "$CRATIS" apply --auto-approve -f "$P" >"$T/$1.out" 2>"$T/$1.err" &
	apid=$!
	if wait_for 60 locked && wait_for 60 holding; then ok "$1: the apply holds the lock with its Task running"; else fail "$1: the apply never held the lock"; sed 's/^/    /' "$T/$1.err"; fi
}
# deployment_result ID: the RESULT column of `cratis history` for deployment ID
deployment_result() { C history | awk -v id="$1" '$1 == id { print $3 }'; }

# the state exists before the first background apply, so the polling `state list` never races
# the apply that creates it (that race is tests/e2e/first_open.sh)
C state list >/dev/null 2>&1
expect_rc "the state is created" 0 $?

# 1. a live holder: unlock refused without --force, done with it; the holder is interrupted
start_blocked_apply live
id=$(lock_id)
C state unlock "$id" >"$T/unlock1.out" 2>"$T/unlock1.err"
expect_rc "unlock of a live holder is refused" 1 $?
expect_in "the refusal names the lock" "refusing to release lock $id" "$T/unlock1.err"
expect_in "the refusal names the holder's pid and command" "pid $apid running 'cratis apply" "$T/unlock1.err"
expect_in "the refusal says the holder is alive" "is alive" "$T/unlock1.err"
expect_in "the refusal points at --force" "--force" "$T/unlock1.err"
check "the lock is still held" locked
C state unlock "$id" --force >"$T/unlock2.out" 2>"$T/unlock2.err"
expect_rc "unlock --force of a live holder" 0 $?
cat "$T/unlock2.out" "$T/unlock2.err" >"$T/unlock2.all"
expect_in "unlock --force names what it released" "lock $id released" "$T/unlock2.all"
check "no lock after unlock --force" no_lock
expect_rc "its deployment is closed as interrupted at once" interrupted "$(deployment_result 1)"
open_gate
wait "$apid"
expect_rc "the holder whose lock was forced open fails" 1 $?
expect_in "the holder says its lock was released" "was released by another command" "$T/live.err"
expect_rc "its deployment stays interrupted" interrupted "$(deployment_result 1)"

# 2. a run killed with -9 while holding the lock: the next apply takes it over, with a warning
start_blocked_apply killed
killed_pid=$apid
kill -9 "$apid"
wait "$apid" 2>/dev/null
open_gate # the orphaned Task's shell (kill -9 leaves it behind) ends at the open gate
check "the killed run's lock is still recorded" locked
expect_rc "history shows the killed run as running before the takeover" running "$(deployment_result 2)"
RUN=next C apply --auto-approve >"$T/next.out" 2>"$T/next.err"
expect_rc "the next apply succeeds" 0 $?
expect_in "it warns that it took over the lock" "warning: " "$T/next.err"
expect_in "the warning names the dead holder" "taking over the lock on environment 'staging' left by pid $killed_pid" "$T/next.err"
expect_in "the warning says the holder is gone" "which is no longer running" "$T/next.err"
expect_in "the warning says its deployment is closed" "its deployment 2 is closed as interrupted" "$T/next.err"
expect_rc "history shows the killed run interrupted" interrupted "$(deployment_result 2)"
expect_rc "history shows the next run succeeded" succeeded "$(deployment_result 3)"
check "no lock left" no_lock
C history -o json >"$T/history.json" 2>&1
check "no deployment is running in history -o json" python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
rows = h if isinstance(h, list) else h.get("deployments", [])
assert rows, h
assert all(d.get("result") != "running" for d in rows), rows
' "$T/history.json"

# 3. a dead holder's lock is released by unlock without --force, closing its deployment
start_blocked_apply dead
dead_id=$(lock_id)
kill -9 "$apid"
wait "$apid" 2>/dev/null
open_gate
C state unlock "$dead_id" >"$T/unlock3.out" 2>"$T/unlock3.err"
expect_rc "unlock of a dead holder needs no --force" 0 $?
check "no lock after unlocking a dead holder" no_lock
expect_rc "the dead holder's deployment is interrupted" interrupted "$(deployment_result 4)"
finish
