#!/bin/sh
# Concurrency on PostgreSQL state (issue 11's proof): 50 `cratis apply --lock-timeout 120` started
# at once from 50 processes on one environment run one at a time (their Tasks never overlap: a
# mkdir-based detector and a start/end log), all succeed, and every deployment and its step is
# recorded exactly once; on two environments two applies run at the same moment (each waits until
# the other has started; their recorded start and end times overlap). Bounded: a tiny project,
# 50 processes, no wall-clock thresholds. Runs under tests/pg/with-postgres.sh (skipped without
# PostgreSQL).
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
SCHEMA=e2e_concurrency
S="$CRATIS_TEST_PG_URL?schema=$SCHEMA"
PSQL=${PGBIN:-/usr/lib/postgresql/15/bin}/psql
# sql QUERY: one value per line, from the test's schema
sql() { "$PSQL" "$CRATIS_TEST_PG_URL" -qAt -c "SET search_path TO $SCHEMA" -c "$1"; }
P="$T/p"
mkdir -p "$P"
export D="$T/d"
mkdir -p "$D"
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
  variables: {me: staging, other: production}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
  variables: {me: production, other: staging}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  environments: [staging, production]
---
apiVersion: exec/v1
kind: Task
metadata: {name: work}
spec:
  system: local
  # one at a time: mkdir fails when another run's Task is inside; the log gets start/end pairs
  apply: [sh, -c, 'mkdir "$0/inside-$2" 2>/dev/null || echo "$1" >>"$0/overlaps"; echo "start $1" >>"$0/log-$2"; sleep 0.05; echo "end $1" >>"$0/log-$2"; rmdir "$0/inside-$2"', "${env:D}", "${env:RUN}", "${me}"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: meet}
spec:
  system: local
  # both environments at once: say this one started, wait (bounded) until the other did too
  apply: [sh, -c, 'touch "$0/met-$1"; i=0; while [ ! -e "$0/met-$2" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; test -e "$0/met-$2"', "${env:D}", "${me}", "${other}", "${env:MEET}"]
YAML
C() { "$CRATIS" "$@" -f "$P" --state "$S" </dev/null; }
MEET=0 RUN=0 C apply --env staging --auto-approve >"$T/first.out" 2>&1 &
fpid=$!
MEET=0 RUN=0 C apply --env production --auto-approve >"$T/first-prod.out" 2>&1
expect_rc "the first production apply (its Task meets staging's)" 0 $?
wait "$fpid"
expect_rc "the first staging apply" 0 $?
base=$(sql "SELECT count(*) FROM deployments WHERE environment = 'staging'")

# 1. 50 applies on one environment at once
pids=""
i=1
while [ "$i" -le 50 ]; do
	MEET=0 RUN=$i "$CRATIS" apply -f "$P" --state "$S" --env staging --auto-approve --lock-timeout 120 </dev/null \
		>"$T/run-$i.out" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
failed_runs=0
for p in $pids; do
	wait "$p" || failed_runs=$((failed_runs + 1))
done
check "all 50 applies succeed ($failed_runs failed)" test "$failed_runs" -eq 0
[ "$failed_runs" -eq 0 ] || grep -l -v '^$' "$T"/run-*.out | head -3 | xargs tail -5
check "no two Tasks ran at once" test ! -e "$D/overlaps"
check "the Task ran 51 times in start/end pairs" test "$(grep -c '^start' "$D/log-staging")" -eq 51
pairs=$(awk '{ if (NR % 2 == 1) { if ($1 != "start") bad = 1; run = $2 } else if ($1 != "end" || $2 != run) bad = 1 } END { print bad ? "interleaved" : "paired" }' "$D/log-staging")
check "every start is followed by its own end (log $pairs)" test "$pairs" = paired
check "50 deployments more were recorded" test "$(sql "SELECT count(*) FROM deployments WHERE environment = 'staging'")" -eq $((base + 50))
check "every one succeeded" test "$(sql "SELECT count(*) FROM deployments WHERE environment = 'staging' AND result <> 'succeeded'")" -eq 0
check "each of the 50 has exactly one step, for Task/work" \
	test "$(sql "SELECT count(*) FROM (SELECT d.id FROM deployments d JOIN steps s ON s.deployment = d.id WHERE d.environment = 'staging' GROUP BY d.id HAVING count(*) = 1 AND min(s.resource) = 'Task/work') x")" -eq $((base + 50 - 1))
check "no step is recorded twice" \
	test "$(sql "SELECT count(*) FROM (SELECT deployment, resource, action FROM steps GROUP BY 1, 2, 3 HAVING count(*) > 1) x")" -eq 0
check "the deployments never overlapped in time (each started after the previous one finished)" \
	test "$(sql "SELECT count(*) FROM (SELECT started, lag(finished) OVER (ORDER BY id) AS prev FROM deployments WHERE environment = 'staging') x WHERE prev IS NOT NULL AND started < prev")" -eq 0
last=$(sed -n 's/^end //p' "$D/log-staging" | tail -1)
spec=$(sql "SELECT spec FROM resources WHERE environment = 'staging' AND id = 'Task/work'")
case "$spec" in
*"\"$last\""*) ok "the recorded spec is that of the last run to finish ($last)" ;;
*) fail "the recorded spec is not that of the last run ($last): $spec" ;;
esac
check "no lock is left" test "$(sql "SELECT count(*) FROM locks")" -eq 0

# 2. two environments at the same moment: each Task waits for the other's to start
rm -f "$D"/met-*
MEET=1 RUN=0 C apply --env staging --auto-approve >"$T/meet-s.out" 2>&1 &
spid=$!
MEET=1 RUN=0 C apply --env production --auto-approve >"$T/meet-p.out" 2>&1
expect_rc "production's apply meets staging's" 0 $?
wait "$spid"
expect_rc "staging's apply meets production's" 0 $?
overlap=$(sql "SELECT count(*) FROM (SELECT * FROM deployments WHERE id IN (SELECT max(id) FROM deployments GROUP BY environment)) a,
	(SELECT * FROM deployments WHERE id IN (SELECT max(id) FROM deployments GROUP BY environment)) b
	WHERE a.environment = 'staging' AND b.environment = 'production' AND a.started <= b.finished AND b.started <= a.finished")
check "their recorded start and end times overlap" test "$overlap" -eq 1
finish
