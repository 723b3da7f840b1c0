#!/bin/sh
# PostgreSQL state (docs/state.md): apply, plan and destroy of a small project with
# `--state postgres://...` (and CRATIS_STATE), nothing written to a SQLite file; a password in the
# URL never printed; two environments deploying at the same moment, each under its own lock; a
# lock holder killed with -9 whose lock the next run takes over at once. Runs under
# tests/pg/with-postgres.sh, which starts a throwaway PostgreSQL 15 and stops it, pass or fail
# (skipped, exit 77, when PostgreSQL is not installed).
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
S="$CRATIS_TEST_PG_URL?schema=e2e_state"
P="$T/p"
mkdir -p "$P"
export GATE_DIR="$T/gates"
mkdir -p "$GATE_DIR"
cat >"$P/m.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
  variables: {gate: staging}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
  variables: {gate: production}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  environments: [staging, production]
---
apiVersion: exec/v1
kind: Task
metadata: {name: prepare}
spec:
  system: local
  apply: ["true"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: slow}
spec:
  system: local
  apply: [sh, -c, 'while [ ! -e "$0" ]; do sleep 0.1; done', "${env:GATE_DIR}/${gate}", "${env:RUN}"]
  dependsOn: [Task/prepare]
YAML
C() { "$CRATIS" "$@" -f "$P" --state "$S" </dev/null; }
open_gates() { touch "$GATE_DIR/staging" "$GATE_DIR/production"; }
cleanup_hooks="open_gates"

# 1. plan, apply, plan again, get, history: all through PostgreSQL
open_gates
RUN=1 C plan --env staging >"$T/plan1.out" 2>&1
expect_rc "plan against a fresh PostgreSQL schema" 0 $?
expect_in "the plan creates the slow Task" "Task/slow" "$T/plan1.out"
RUN=1 C apply --env staging --auto-approve >"$T/apply1.out" 2>&1
expect_rc "apply with --state postgres://" 0 $?
RUN=1 C plan --env staging --detailed-exitcode >"$T/plan2.out" 2>&1
expect_rc "the next plan has no changes" 0 $?
C state list --env staging >"$T/list1.out" 2>&1
expect_in "state list shows the applied Task" "demo/Task/slow	ready" "$T/list1.out"
CRATIS_STATE="$S" "$CRATIS" history -f "$P" --env staging </dev/null >"$T/history1.out" 2>&1
expect_rc "CRATIS_STATE selects the same store" 0 $?
expect_in "history through CRATIS_STATE shows the deployment" "succeeded" "$T/history1.out"
check "no SQLite state file was written" test ! -e "$P/.cratis/state.db"
"$CRATIS" state list -f "$P" --env staging </dev/null >"$T/list_sqlite.out" 2>&1
check "the default SQLite state knows nothing of it" sh -c "! grep -q 'Task/slow' '$T/list_sqlite.out'"

# 2. a password in the URL is never printed
hostpart=${CRATIS_TEST_PG_URL#postgres://cratis}
"$CRATIS" state list -f "$P" --state "postgres://cratis:Wr0ngPassw0rd$hostpart" </dev/null >"$T/badpw.out" 2>&1
expect_rc "a wrong password is an error" 1 $?
expect_in "the error names the server" "postgres://cratis@127.0.0.1" "$T/badpw.out"
expect_not_in "the error does not show the password" "Wr0ngPassw0rd" "$T/badpw.out"

# 3. two environments deploy at the same moment: each holds its own lock
rm -f "$GATE_DIR/staging" "$GATE_DIR/production"
RUN=2 "$CRATIS" apply -f "$P" --state "$S" --env staging --auto-approve </dev/null >"$T/staging.out" 2>&1 &
spid=$!
RUN=2 "$CRATIS" apply -f "$P" --state "$S" --env production --auto-approve </dev/null >"$T/production.out" 2>&1 &
ppid=$!
both_locked() { [ "$(C state list --env staging 2>/dev/null | grep -c '^lock ')" -eq 2 ]; }
both_running() {
	C state list --env staging 2>/dev/null | grep -q "demo/Task/slow	pending" &&
		C state list --env production 2>/dev/null | grep -q "demo/Task/slow	pending"
}
if wait_for 60 both_locked && wait_for 60 both_running; then
	ok "staging and production hold their locks and run at the same time"
else
	fail "the two environments did not run at the same time"
	C state list --env staging >&2
fi
C state list --env staging >"$T/locks.out" 2>&1
expect_in "the staging lock is listed" "on environment 'staging'" "$T/locks.out"
expect_in "the production lock is listed" "on environment 'production'" "$T/locks.out"
open_gates
wait "$spid"
expect_rc "the staging apply succeeds" 0 $?
wait "$ppid"
expect_rc "the production apply succeeds" 0 $?

# 4. a holder killed with -9: the next run takes its lock over at once
rm -f "$GATE_DIR/staging"
RUN=3 "$CRATIS" apply -f "$P" --state "$S" --env staging --auto-approve </dev/null >"$T/killed.out" 2>&1 &
kpid=$!
holding() { C state list --env staging 2>/dev/null | grep -q "demo/Task/slow	pending"; }
if wait_for 60 holding; then ok "the run to be killed holds the lock"; else fail "the run never held the lock"; fi
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
open_gates
RUN=4 C apply --env staging --auto-approve --lock-timeout 0 >"$T/next.out" 2>&1
expect_rc "the next apply takes the lock at once (no lock wait)" 0 $?
expect_in "it warns that it took the lock over" "taking over the lock on environment 'staging' left by pid $kpid" "$T/next.out"
C history --env staging >"$T/history2.out" 2>&1
expect_in "the killed run's deployment is interrupted" "interrupted" "$T/history2.out"
C state list --env staging >"$T/locks2.out" 2>&1
expect_not_in "no lock is left" "lock " "$T/locks2.out"

# 5. destroy both environments
RUN=5 C destroy --env staging --auto-approve >"$T/destroy1.out" 2>&1
expect_rc "destroy staging" 0 $?
RUN=5 C destroy --env production --auto-approve >"$T/destroy2.out" 2>&1
expect_rc "destroy production" 0 $?
C state list --env staging >"$T/list2.out" 2>&1
expect_not_in "staging is empty after destroy" "Task/" "$T/list2.out"
C state list --env production >"$T/list3.out" 2>&1
expect_not_in "production is empty after destroy" "Task/" "$T/list3.out"
finish
