#!/bin/sh
# `rollout status` and `rollout history` only read: once the previous release's scale-down delay
# has passed they still leave it running and recorded as previous (the retiring is done by the
# next command that takes the environment's lock), so a status run beside `rollout rollback`
# cannot stop the release the rollback just made live.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/rollout" "$P"
rm -rf "$P/.cratis"
sed -i 's/scaleDownDelaySeconds: 300/scaleDownDelaySeconds: 1/' "$P/shop.yaml"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
PUB="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
status_of() { python3 -c "import json,sys; print(' '.join(r['status'] for r in json.load(open(sys.argv[1])) if r['release'].startswith(sys.argv[2])))" "$@"; }

APP_VERSION=v1 C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "v1 live" 0 $?
APP_VERSION=v2 C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "v2 live" 0 $?
C rollout history -o json >"$T/h0" 2>&1
v1port=$(python3 -c "import json; print([r['port'] for r in json.load(open('$T/h0')) if r['status']=='previous'][0])")
check "v1 is the previous release" test -n "$v1port"
v1pid=$(own_procs "http[.]server $v1port " | head -n 1)
check "v1's process runs" test -n "$v1pid"
# the scale-down delay (1 s) passes: only a command holding the lock may now retire v1
sleep 2
C rollout status >"$T/s1" 2>&1
expect_rc "rollout status" 0 $?
C rollout status -o json >"$T/s2" 2>&1
C rollout history -o json >"$T/h1" 2>&1
expect_rc "rollout history" 0 $?
expect_rc "status left v1 recorded as previous" "previous" "$(status_of "$T/h1" r1-)"
expect_rc "status left v1's process running" "$v1pid" "$(own_procs "http[.]server $v1port " | head -n 1)"
expect_not_in "status said nothing about scaling down" "scaled down" "$T/s1"
# a rollback right after: v1 takes traffic again; a status beside it leaves v1 serving
C rollout rollback >/dev/null 2>"$T/rb.err"
expect_rc "rollback to v1" 0 $?
C rollout status >/dev/null 2>&1
expect_rc "public answers v1 after a status" "<h1>shop v1</h1>" "$(curl -s --max-time 5 "$PUB")"
# the command that holds the lock retires what is due: apply (v2 is previous, its delay passes)
sleep 2
C apply --auto-approve >/dev/null 2>"$T/a3.err"
C rollout history -o json >"$T/h2" 2>&1
expect_rc "apply retired v2 once its delay passed" "retired" "$(status_of "$T/h2" r2-)"
finish
