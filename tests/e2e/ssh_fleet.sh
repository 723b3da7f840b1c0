#!/bin/sh
# Fleets (issue 17): an Environment with three ssh Systems (three sshd instances on loopback); a
# Task with spec.systems deploys one copy per System, and spec.rolling.batchSize deploys them in
# batches, a failing batch stopping the ones after it, the copies of a batch in parallel (-j).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
P="$T/p"
mkdir -p "$P"
start_sshd a; PA=$SSH_PORT; KA=$SSH_HOSTKEY
start_sshd b; PB=$SSH_PORT; KB=$SSH_HOSTKEY
start_sshd c; PC=$SSH_PORT; KC=$SSH_HOSTKEY
# the Task records the port of the server it ran on ($SSH_CONNECTION) and fails on FAIL_PORT
write() { # BATCH FAIL_PORT
	{
		ssh_system web-a "$PA" "$KA"; echo ---; ssh_system web-b "$PB" "$KB"; echo ---; ssh_system web-c "$PC" "$KC"
		cat <<YAML
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: prod}
spec:
  systems: [web-a, web-b, web-c]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: fleet}
---
apiVersion: exec/v1
kind: Task
metadata: {name: deploy}
spec:
  systems: [web-a, web-b, web-c]
  rolling: {batchSize: $1}
  apply: [sh, -c, 'set -- \$SSH_CONNECTION; echo \$4 >>$T/ran; test "\$4" != $2']
YAML
	} >"$P/m.yaml"
}
C() { "$CRATIS" "$@" -f "$P"; }

write 1 "$PB"
C plan >"$T/plan.out" 2>&1; expect_rc "plan a fleet" 0 $?
expect_in "one copy per System (a)" "Task/deploy-web-a" "$T/plan.out"
expect_in "one copy per System (c)" "Task/deploy-web-c" "$T/plan.out"
C apply --auto-approve -j 4 >"$T/roll1.out" 2>&1; expect_rc "batch 1: the failing host fails the apply" 1 $?
check "the first host ran" grep -qx "$PA" "$T/ran"
check "the failing host ran" grep -qx "$PB" "$T/ran"
check "the batch after the failing one did not run" sh -c "! grep -qx $PC $T/ran"
expect_in "the stopped host is reported" "Task/deploy-web-c: skipped because Task/deploy-web-b did not succeed" "$T/roll1.out"

rm -f "$T/ran"
C destroy --auto-approve >/dev/null 2>&1
write 2 "$PA"
C apply --auto-approve -j 4 >"$T/roll2.out" 2>&1; expect_rc "batch 2: a failing first batch" 1 $?
check "both hosts of the first batch ran" [ "$(sort "$T/ran" | tr '\n' ' ')" = "$(printf '%s\n' "$PA" "$PB" | sort | tr '\n' ' ')" ]
check "the second batch did not run" sh -c "! grep -qx $PC $T/ran"

rm -f "$T/ran"
C destroy --auto-approve >/dev/null 2>&1
write 1 0
C apply --auto-approve -j 4 >"$T/ok.out" 2>&1; expect_rc "a healthy fleet deploys" 0 $?
check "every host ran once, in order" [ "$(tr '\n' ' ' <"$T/ran")" = "$PA $PB $PC " ]
for s in a b c; do
	n=$(grep -c "Accepted publickey" "$T/sshd-$s/log")
	check "one connection to web-$s per run ($n over 3 runs)" [ "$n" -le 3 ]
done

sed -i 's/  rolling: {batchSize: 1}/  rolling: {batchSize: 0}/' "$P/m.yaml"
C plan >"$T/bad.out" 2>&1; expect_rc "a batch size of 0 is refused" 1 $?
expect_in "it names the field" "spec.rolling.batchSize: expected a whole number" "$T/bad.out"
finish
