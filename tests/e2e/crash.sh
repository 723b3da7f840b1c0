#!/bin/sh
# Crash consistency (issue 9, proof): a bounded loop of kill -9 at random moments during apply and
# destroy of a project with Tasks, Files and a Service. After each kill: the state database passes
# PRAGMA integrity_check, the next apply converges (plan --detailed-exitcode exits 0 after it),
# and every server process that runs is the one the state knows (no orphan beside it).
# ROUNDS (default 12) bounds the loop; the moments come from a seeded generator (SEED, printed).
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
PORT=$(free_port)
ROUNDS=${ROUNDS:-12}
SEED=${SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# seed $SEED, $ROUNDS rounds"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: crash}
---
apiVersion: exec/v1
kind: Task
metadata: {name: prepare}
spec:
  system: local
  apply: [sh, -c, "sleep 0.3; mkdir -p site"]
  destroy: [rm, -rf, site]
---
apiVersion: file/v1
kind: File
metadata: {name: page}
spec:
  system: local
  path: site/index.html
  content: "crash test\n"
  dependsOn: [Task/prepare]
---
apiVersion: file/v1
kind: File
metadata: {name: conf}
spec:
  system: local
  path: site/app.conf
  content: "port=$PORT\n"
  dependsOn: [Task/prepare]
---
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  system: local
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1, --directory, site]
  health: {tcp: "127.0.0.1:$PORT", timeoutSeconds: 30}
  dependsOn: [File/page, File/conf]
---
apiVersion: exec/v1
kind: Task
metadata: {name: after}
spec:
  system: local
  apply: [sh, -c, "sleep 0.3; touch after.marker"]
  destroy: [rm, -f, after.marker]
  dependsOn: [Service/web]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
servers() { pgrep -f "http[.]server $PORT" | wc -l; }
stop_servers() { pkill -f "http[.]server $PORT" 2>/dev/null; return 0; }
cleanup_hooks="stop_servers"
recorded_pid() { cut -d' ' -f1 "$P/.cratis/run/_/crash/Service-web/pid" 2>/dev/null; }

# the moments, drawn once (starting an interpreter per round would itself take a moment): 0 to
# 1 s into the run, about as long as a whole apply takes
MOMENTS=$(python3 -c "import random; random.seed($SEED); print(' '.join('%.3f' % (random.randint(0, 1000) / 1000) for _ in range($ROUNDS)))")
moment() { echo "$MOMENTS" | cut -d' ' -f"$1"; }
kills=0
bad=0
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	at=$(moment "$i")
	if [ $((i % 3)) -eq 0 ]; then
		what=destroy # of the converged project
	else
		what=apply
		C destroy --auto-approve >/dev/null 2>&1 # so that the apply has everything to do
	fi
	"$CRATIS" "$what" -f "$P" --auto-approve >/dev/null 2>&1 &
	pid=$!
	sleep "$at"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	ic=$(sqlite3 "$P/.cratis/state.db" 'PRAGMA integrity_check' 2>&1)
	if [ "$ic" != ok ]; then fail "round $i ($what, kill at $at s): integrity_check says $ic"; bad=$((bad + 1)); fi
	if ! C apply --auto-approve >"$T/out" 2>"$T/err"; then
		fail "round $i ($what, kill at $at s): the next apply fails"
		sed 's/^/    /' "$T/err"
		bad=$((bad + 1))
	fi
	if ! C plan --detailed-exitcode >"$T/plan" 2>&1; then
		fail "round $i ($what, kill at $at s): not converged after the next apply"
		sed 's/^/    /' "$T/plan"
		bad=$((bad + 1))
	fi
	n=$(servers)
	rp=$(recorded_pid)
	live=$(pgrep -f "http[.]server $PORT" | head -n 1)
	if [ "$n" != 1 ] || [ "$live" != "$rp" ]; then
		fail "round $i ($what, kill at $at s): $n server processes ($live), the state knows $rp"
		bad=$((bad + 1))
	fi
done
echo "# $kills kills in $ROUNDS rounds, $bad bad outcomes"
expect_rc "no bad outcome after $ROUNDS rounds of kill -9" 0 "$bad"
C destroy --auto-approve >/dev/null 2>&1
expect_rc "destroy at the end" 0 $?
wait_for 10 sh -c "[ \$(pgrep -f 'http[.]server $PORT' | wc -l) -eq 0 ]"
expect_rc "no server left" 0 "$(servers)"
finish
