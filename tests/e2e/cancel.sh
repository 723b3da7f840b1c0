#!/bin/sh
# Cancellation: SIGINT (Ctrl-C) or SIGTERM during an apply starts nothing new, stops the running
# Task's process group (SIGTERM, SIGKILL after --grace), records the step and the deployment as
# interrupted, releases the lock and exits 130 (143 for SIGTERM); the next plan shows what was
# left and the next apply settles it. A Task that ignores SIGTERM is killed after the grace period.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
cat >"$P/cancel.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: cancel}
---
apiVersion: exec/v1
kind: Task
metadata: {name: after}
spec:
  system: local
  apply: [touch, after.marker]
  dependsOn: [Task/slow]
YAML
# slow_task COMMAND: the Task that runs while the signal comes (its shell writes slow.pid)
slow_task() {
	cat >"$P/slow.yaml" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: slow}
spec:
  system: local
  apply: [sh, -c, '$1']
YAML
}
slow_task 'echo $$ > slow.pid; exec sleep 60'
C() { "$CRATIS" "$@" -f "$P"; }
alive() { kill -0 "$1" 2>/dev/null; }
slow_started() { [ -s "$P/slow.pid" ]; }

# run_and_signal SIGNAL GRACE: start an apply, wait until the slow Task runs, send SIGNAL;
# sets rc and SLOW (the Task's pid)
run_and_signal() {
	rm -f "$P/slow.pid"
	"$CRATIS" apply -f "$P" --auto-approve --grace "$2" >"$T/out" 2>"$T/err" &
	apid=$!
	if ! wait_for 30 slow_started; then
		fail "the slow Task started"
		kill -9 "$apid" 2>/dev/null
		return
	fi
	SLOW=$(cat "$P/slow.pid")
	kill "-$1" "$apid"
	wait "$apid"
	rc=$?
}

# 1. SIGINT during the apply
run_and_signal INT 10
expect_rc "Ctrl-C during apply exits 130" 130 "$rc"
if alive "$SLOW"; then fail "the running Task was stopped"; kill -9 "$SLOW"; else ok "the running Task was stopped"; fi
check "the dependent Task did not start" test ! -e "$P/after.marker"
expect_in "the interrupted resource is named" "Task/slow: create interrupted" "$T/err"
expect_in "the summary says interrupted (on stdout)" "Apply interrupted: 0 succeeded, 0 failed, 1 skipped, 1 interrupted" "$T/out"
C state list >"$T/state" 2>&1
expect_not_in "the lock is released" "lock " "$T/state"
C history >"$T/history" 2>&1
expect_in "history shows the run interrupted" "interrupted" "$T/history"
expect_not_in "no deployment is left running" " running " "$T/history"
dep=$(C history -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
C history "$dep" >"$T/steps" 2>&1
expect_in "the step is recorded as interrupted" "interrupted" "$T/steps"

# 2. the next plan shows what was left; a second apply settles it
C plan --detailed-exitcode >"$T/plan" 2>&1
expect_rc "plan after the interruption has changes" 2 $?
expect_in "plan lists the interrupted Task" "Task/slow" "$T/plan"
slow_task 'echo $$ > slow.pid; exit 0'
C apply --auto-approve >"$T/out2" 2>"$T/err2"
expect_rc "the next apply settles it" 0 $?
check "the dependent Task ran" test -e "$P/after.marker"
C plan --detailed-exitcode >"$T/plan2" 2>&1
expect_rc "converged" 0 $?

# 3. SIGTERM; a Task that ignores SIGTERM is killed after the grace period
rm -f "$P/after.marker"
slow_task 'echo $$ > slow.pid; trap "" TERM; sleep 60'
run_and_signal TERM 1
expect_rc "SIGTERM during apply exits 143" 143 "$rc"
if alive "$SLOW"; then fail "a Task ignoring SIGTERM was killed after the grace period"; kill -9 "$SLOW"; else ok "a Task ignoring SIGTERM was killed after the grace period"; fi
leftover=$(pgrep -f "sleep 60" -s "$SLOW" 2>/dev/null | wc -l)
expect_rc "nothing of its process group is left" 0 "$leftover"
C state list >"$T/state3" 2>&1
expect_not_in "the lock is released after SIGTERM" "lock " "$T/state3"

# 4. an exec plugin's request in flight: the plugin's process group gets SIGTERM, the answer is
# not waited for past the grace period (the plugin would take 60 s)
X="$T/x"
mkdir -p "$X"
printf 'apiVersion: par/v1\nkind: Item\nmetadata: {name: a}\nspec: {x: 1}\n' >"$X/m.yaml"
started() { [ -s "$X/pids" ]; }
CRATIS_PLUGIN_PATH="$SRC/tests/plugins/exec" PAR_TARGET=0 PAR_SLEEP_MS=60000 PAR_DIR="$X" \
	"$CRATIS" apply -f "$X" --auto-approve --grace 1 >"$T/xout" 2>"$T/xerr" &
apid=$!
if wait_for 30 started; then
	sleep 0.5 # the request is in flight once the handshake is done
	kill -INT "$apid"
	wait "$apid"
	expect_rc "Ctrl-C during an exec plugin's request exits 130" 130 $?
	expect_in "the request is interrupted" "Item/a: create interrupted" "$T/xerr"
	left=0
	for pid in $(cat "$X/pids"); do kill -0 "$pid" 2>/dev/null && left=$((left + 1)); done
	expect_rc "no plugin process is left" 0 "$left"
else
	fail "the exec plugin started"
	kill -9 "$apid" 2>/dev/null
fi
finish
