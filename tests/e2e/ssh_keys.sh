#!/bin/sh
# SSH systems (issue 17): host keys are always checked (a changed or unknown key is refused with
# the host and the fingerprint the server offered; a knownHosts file is honoured), a remote Task
# keeps the local exit and timeout semantics, and 200 Tasks on one host share one connection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
P="$T/p"
mkdir -p "$P"
start_sshd k
FP=$(ssh-keygen -lf "$T/sshd-k/host.pub" | cut -d' ' -f2)
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
project() { # NAME: the core documents after a System
	cat <<YAML
---
apiVersion: cratis/v1
kind: Project
metadata: {name: $1}
YAML
}
task() { # NAME ARGV [EXTRA]
	cat <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: $1}
spec:
  apply: $2
${3:-}
YAML
}
C() { "$CRATIS" "$@" -f "$P"; }

# a pinned key that is not the server's
{ ssh_system box "$SSH_PORT" "$(cut -d' ' -f1,2 "$T/other.pub")"; project keys; task t1 "[touch, $T/t1]"; } >"$P/m.yaml"
C apply --auto-approve >"$T/changed.out" 2>&1; expect_rc "a changed host key is refused" 1 $?
expect_in "it says the key changed and names the host" "host key of 127.0.0.1:$SSH_PORT has changed" "$T/changed.out"
expect_in "it names the offered fingerprint" "$FP" "$T/changed.out"
check "nothing ran" [ ! -e "$T/t1" ]

# a knownHosts file without the host
: >"$T/empty_known_hosts"
sed -i "s|  hostKey: .*|  knownHosts: $T/empty_known_hosts|" "$P/m.yaml"
C apply --auto-approve >"$T/unknown.out" 2>&1; expect_rc "an unknown host key is refused" 1 $?
expect_in "it says the key is not trusted" "host key of 127.0.0.1:$SSH_PORT is not trusted" "$T/unknown.out"
expect_in "it names the offered fingerprint (unknown)" "$FP" "$T/unknown.out"
check "nothing ran (unknown)" [ ! -e "$T/t1" ]

# the same file with the host's key, as ssh-keyscan writes it
echo "[127.0.0.1]:$SSH_PORT $(cat "$T/sshd-k/host.pub")" >"$T/known_hosts"
sed -i "s|  knownHosts: .*|  knownHosts: $T/known_hosts|" "$P/m.yaml"
C apply --auto-approve >"$T/known.out" 2>&1; expect_rc "a known host key is accepted" 0 $?
check "the Task ran" [ -e "$T/t1" ]
C destroy --auto-approve >/dev/null 2>&1

# a literal key or password is refused before anything runs
{ ssh_system box "$SSH_PORT" "$SSH_HOSTKEY"; project keys; } >"$P/m.yaml"
sed -i "s|  auth: .*|  auth: {password: hunter2}|" "$P/m.yaml"
C plan >"$T/literal.out" 2>&1; expect_rc "a literal password is refused" 1 $?
expect_in "it names the field" "spec.auth.password" "$T/literal.out"
expect_not_in "the value is not repeated" "hunter2" "$T/literal.out"

# a System without a host is refused on plan, before anything runs
{ ssh_system box "$SSH_PORT" "$SSH_HOSTKEY"; project keys; task t2 "[touch, $T/t2]"; } >"$P/m.yaml"
sed -i "/^  host: /d" "$P/m.yaml"
C plan >"$T/nohost.out" 2>&1; expect_rc "a System without a host is refused on plan" 1 $?
expect_in "it names the System and the field" "System/box: spec.host: expected a host name" "$T/nohost.out"

# exit status and timeout as for a local Task
{ ssh_system box "$SSH_PORT" "$SSH_HOSTKEY"; project keys
  task fails "[sh, -c, 'echo boom >&2; exit 3']"
  task slow "[sh, -c, 'echo \$\$ >$T/slow.pid; exec sleep 31']" "  timeoutSeconds: 1"; } >"$P/m.yaml"
C apply --auto-approve -j 1 >"$T/exit.out" 2>&1; expect_rc "failing remote Tasks fail the apply" 1 $?
expect_in "the exit status and stderr are reported" "exited with status 3 on System/box: boom" "$T/exit.out"
expect_in "the timeout is reported" "timed out after 1 s on System/box" "$T/exit.out"
check "the timed-out remote command was killed" sh -c "! kill -0 \$(cat $T/slow.pid) 2>/dev/null"

# 200 Tasks on one host, 16 workers (more than sshd's MaxSessions, 10): one connection (sshd logs
# one authentication per connection)
start_sshd many
{ ssh_system box "$SSH_PORT" "$SSH_HOSTKEY"; project many
  i=0; while [ $i -lt 200 ]; do task "t$i" "[sh, -c, 'echo $i >>$T/many.out']"; i=$((i + 1)); done; } >"$P/m.yaml"
C apply --auto-approve -j 16 >"$T/many.apply" 2>&1; expect_rc "200 Tasks over ssh" 0 $?
check "all 200 ran" [ "$(wc -l <"$T/many.out")" = 200 ]
n=$(grep -c "Accepted publickey" "$T/sshd-many/log")
check "one connection for 200 Tasks (got $n)" [ "$n" = 1 ]
check "the master is closed at the end of the run" [ -z "$(own_procs 'ControlMaster=yes')" ]

# through a jump host: server "many" reaches server "k"; both keys checked against one file
{ echo "[127.0.0.1]:$SSH_PORT $(cat "$T/sshd-many/host.pub")"; cat "$T/known_hosts"; } >"$T/both_known_hosts"
JUMP_PORT=$SSH_PORT
{ ssh_system inner "$(sed -n 's/^Port //p' "$T/sshd-k/config")" x; project jump; task viajump "[sh, -c, 'echo \$SSH_CONNECTION >$T/jump.out']"; } >"$P/m.yaml"
sed -i "s|  hostKey: .*|  knownHosts: $T/both_known_hosts\n  jump: $SSH_USER@127.0.0.1:$JUMP_PORT|" "$P/m.yaml"
before=$(grep -c "Accepted publickey" "$T/sshd-many/log")
C apply --auto-approve >"$T/jump.apply" 2>&1; expect_rc "a Task through a jump host" 0 $?
check "it ran on the inner host" [ -s "$T/jump.out" ]
check "the jump host was used" [ "$(grep -c "Accepted publickey" "$T/sshd-many/log")" -gt "$before" ]
expect_not_in "no host key warning" "Warning" "$T/jump.apply"

finish
