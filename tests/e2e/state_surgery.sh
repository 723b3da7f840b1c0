#!/bin/sh
# State surgery (issue 10): `cratis state rm ADDRESS...` forgets (the thing stays) and `cratis
# state mv OLD NEW` renames without destroy (a running Service keeps its process, pidfile and
# log); each takes the environment's lock, is recorded in history as a deployment with a step,
# and is refused for a pending resource, an unknown address (did you mean), a NEW of another
# kind, an invalid name, or one already recorded.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
PORT=$(free_port)
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: a}
spec: {apply: [touch, $T/a], destroy: [rm, -f, $T/a]}
---
apiVersion: exec/v1
kind: Task
metadata: {name: b}
spec: {apply: [touch, $T/b], destroy: [rm, -f, $T/b]}
---
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1]
  health: {tcp: "127.0.0.1:$PORT", timeoutSeconds: 15}
YAML
C() { "$CRATIS" "$@" -f "$P" --env staging; }
C apply --auto-approve >"$T/apply.out" 2>&1
expect_rc "apply" 0 $?
PID=$(cut -d' ' -f1 "$P/.cratis/run/staging/demo/Service-web/pid")

# rm: forgotten, the thing stays
C state rm Task/a demo/Task/b >"$T/rm.out" 2>&1
expect_rc "state rm of two addresses" 0 $?
expect_in "says what it removed" "Removed demo/Task/a from the state of environment 'staging'" "$T/rm.out"
C state list >"$T/list1.out" 2>&1
expect_not_in "Task/a is no longer recorded" "demo/Task/a" "$T/list1.out"
expect_not_in "Task/b is no longer recorded" "demo/Task/b" "$T/list1.out"
check "the things stay" test -f "$T/a" -a -f "$T/b"
C plan >"$T/plan1.out" 2>&1
expect_in "the next plan creates them again" "+   Task/a" "$T/plan1.out"
C history >"$T/hist.out" 2>&1
expect_in "rm is a deployment in history" "cratis state rm Task/a demo/Task/b" "$T/hist.out"
DEP=$(awk 'NR==2 {print $1}' "$T/hist.out")
C history "$DEP" >"$T/steps.out" 2>&1
expect_in "with a forget step" "forget" "$T/steps.out"
C state rm Task/zzz >"$T/rmbad.out" 2>&1
expect_rc "rm of an address not recorded" 1 $?
C state rm Servce/web >"$T/rmtypo.out" 2>&1
expect_in "did you mean" "did you mean 'Service/web'?" "$T/rmtypo.out"
C state rm >"$T/rmnone.out" 2>&1
expect_rc "rm needs an address" 64 $?

# mv: renamed without destroy
C state mv Service/web Service/site >"$T/mv.out" 2>&1
expect_rc "state mv" 0 $?
expect_in "says what it moved" "Moved demo/Service/web to demo/Service/site" "$T/mv.out"
check "the process still runs" kill -0 "$PID"
check "its directory moved with it" test -f "$P/.cratis/run/staging/demo/Service-site/pid"
sed -i 's/name: web}/name: site}/' "$P/m.yaml"
C plan --refresh=true >"$T/plan2.out" 2>&1
expect_in "the renamed manifest plans no change for it" "    Service/site" "$T/plan2.out"
expect_not_in "nothing is deleted" "-   Service" "$T/plan2.out"
C history >"$T/hist2.out" 2>&1
expect_in "mv is a deployment in history" "cratis state mv Service/web Service/site" "$T/hist2.out"
C apply --auto-approve >/dev/null 2>&1
C state mv Service/site Task/a >"$T/mvkind.out" 2>&1
expect_rc "mv to another kind" 1 $?
expect_in "same kind required" "not an address of the same kind" "$T/mvkind.out"
C state mv Service/site Service/Bad_Name >"$T/mvname.out" 2>&1
expect_rc "mv to an invalid name" 1 $?
C state mv Task/a Task/b >"$T/mvexists.out" 2>&1
expect_rc "mv onto a recorded address" 1 $?
expect_in "already recorded" "demo/Task/b is already recorded" "$T/mvexists.out"
C state mv Task/a >"$T/mvusage.out" 2>&1
expect_rc "mv needs two addresses" 64 $?

# a pending resource is refused
python3 - "$P/.cratis/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE resources SET status='pending' WHERE id='Task/b'")
db.commit()
PY
C state rm Task/b >"$T/pend.out" 2>&1
expect_rc "rm of a pending resource" 1 $?
expect_in "refused: pending" "it is pending" "$T/pend.out"
C state mv Task/b Task/c >"$T/pend2.out" 2>&1
expect_rc "mv of a pending resource" 1 $?
C state list >"$T/list3.out" 2>&1
expect_in "the refused rm changed nothing" "demo/Task/b	pending" "$T/list3.out"
C apply --auto-approve >/dev/null 2>&1
C destroy --auto-approve >"$T/destroy.out" 2>&1
expect_rc "destroy" 0 $?
gone() { ! kill -0 "$PID" 2>/dev/null || grep -q ') Z' "/proc/$PID/stat" 2>/dev/null; }
check "destroy stops the renamed Service's process" wait_for 10 gone
finish
