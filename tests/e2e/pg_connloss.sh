#!/bin/sh
# Connection loss in the middle of an apply on PostgreSQL state (issue 11): every session of the
# run is terminated (pg_terminate_backend from a psql side session) while a Task gate holds the
# run. The Task whose outcome could not be recorded is reported as such (its plugin call
# succeeded), the run starts nothing new (a Task whose dependency succeeded afterwards is not
# started), exits 1 and leaves no lock; the next apply settles the pending row and converges, as
# after a kill -9 with SQLite. The terminate is timed right after a lease renewal, so that the
# keeper's next one (10 s later) cannot see the loss first. Runs under tests/pg/with-postgres.sh.
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
SCHEMA=e2e_connloss
S="$CRATIS_TEST_PG_URL?schema=$SCHEMA"
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
sql() { "$PSQL" "$CRATIS_TEST_PG_URL" -qAt -c "SET search_path TO $SCHEMA" -c "$1"; }
P="$T/p"
mkdir -p "$P"
export G="$T/gates"
mkdir -p "$G"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: a}
spec:
  system: local
  apply: [sh, -c, 'while [ ! -e "$0/a" ]; do sleep 0.05; done', "${env:G}"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: w}
spec:
  system: local
  apply: [sh, -c, 'while [ ! -e "$0/w" ]; do sleep 0.05; done', "${env:G}"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: later}
spec:
  system: local
  apply: [sh, -c, 'touch "$0/later-ran"', "${env:G}"]
  dependsOn: [Task/w]
YAML
open_gates() { touch "$G/a" "$G/w"; }
cleanup_hooks="open_gates"
C() { "$CRATIS" "$@" -f "$P" --state "$S" </dev/null; }
C state list >/dev/null 2>&1 # creates the schema

"$CRATIS" apply -f "$P" --state "$S" --auto-approve -j 2 </dev/null >"$T/run1.out" 2>&1 &
apid=$!
running() { [ "$(sql "SELECT count(*) FROM resources WHERE status = 'pending'")" -eq 2 ]; }
if wait_for 60 running; then ok "Task/a and Task/w are running (pending)"; else fail "the run did not start its Tasks"; fi
acquired=$(sql "SELECT acquired FROM locks")
renewed() { [ "$(sql "SELECT heartbeat FROM locks")" != "$acquired" ]; }
if wait_for 30 renewed; then ok "the lease was renewed"; else fail "the lease was never renewed"; fi
n=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'cratis' AND pid <> pg_backend_pid()")
check "every session of the run was terminated ($n)" test "$n" -ge 2
touch "$G/a"
reported() { grep -q "could not be recorded" "$T/run1.out"; }
if wait_for 30 reported; then ok "the lost record is reported at once"; else fail "no report of the lost record"; fi
touch "$G/w"
wait "$apid"
expect_rc "the run fails" 1 $?
expect_in "Task/a's outcome could not be recorded (its create succeeded)" "Task/a: create failed: the create succeeded, but its outcome could not be recorded" "$T/run1.out"
expect_in "the cause is the lost connection" "connection" "$T/run1.out"
expect_in "Task/later was not started" "Task/later: not started: the state store failed" "$T/run1.out"
check "Task/later never ran" test ! -e "$G/later-ran"
expect_in "the summary lists the unrecorded outcome" "these outcomes could not be recorded: Task/a (create done); the next apply settles them" "$T/run1.out"
check "Task/a is left pending" test "$(sql "SELECT status FROM resources WHERE id = 'Task/a'")" = pending
check "Task/w, recorded after the loss (on a new connection), is ready" test "$(sql "SELECT status FROM resources WHERE id = 'Task/w'")" = ready
check "the run's deployment was closed as failed" test "$(sql "SELECT result FROM deployments ORDER BY id DESC LIMIT 1")" = failed
check "no lock is left" test "$(sql "SELECT count(*) FROM locks")" -eq 0

# the next run settles it
C plan >"$T/plan2.out" 2>&1
expect_in "the plan says the previous run was interrupted" "interrupted" "$T/plan2.out"
C apply --auto-approve >"$T/run2.out" 2>&1
expect_rc "the next apply succeeds" 0 $?
check "Task/later ran" test -e "$G/later-ran"
C plan --detailed-exitcode >"$T/plan3.out" 2>&1
expect_rc "then nothing is left to do" 0 $?
check "every resource is ready" test "$(sql "SELECT count(*) FROM resources WHERE status = 'ready'")" -eq 3
finish
