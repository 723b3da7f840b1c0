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

# owner: drift when someone else owns the remote file
cat >>"$P/m.yaml" <<YAML
---
apiVersion: file/v1
kind: File
metadata: {name: owned}
spec:
  path: $R/owned.conf
  content: "x\n"
  owner: "$(id -un):$(id -gn)"
YAML
C apply --auto-approve >"$T/owned.out" 2>&1; expect_rc "a File with an owner" 0 $?
check "it has that owner" [ "$(stat -c %U:%G "$R/owned.conf")" = "$(id -un):$(id -gn)" ]
if [ "$(id -u)" = 0 ]; then
	chown nobody "$R/owned.conf"
	C plan --detailed-exitcode >"$T/owner.drift" 2>&1; expect_rc "a changed owner is drift" 2 $?
	expect_in "drift names the owner" "owner of '$R/owned.conf' on System/web is nobody" "$T/owner.drift"
	C apply --auto-approve >/dev/null 2>&1
	check "apply gives it back" [ "$(stat -c %U "$R/owned.conf")" = "$(id -un)" ]
fi

# a Service checked over HTTP from the remote side; one that dies at start-up fails with its log
HP=$(free_port)
cat >>"$P/m.yaml" <<YAML
---
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [python3, -m, http.server, "$HP", --bind, 127.0.0.1, --directory, "$R"]
  health: {http: "http://127.0.0.1:$HP/", timeoutSeconds: 20}
YAML
cat >"$P/broken.yaml" <<YAML
apiVersion: service/v1
kind: Service
metadata: {name: broken}
spec:
  command: [sh, -c, 'echo "cannot open the database" >&2; exit 7']
  health: {tcp: "127.0.0.1:1", timeoutSeconds: 20}
YAML
C apply --auto-approve >"$T/web.out" 2>&1; expect_rc "a Service that dies fails the apply" 1 $?
check "the HTTP-checked Service answers" python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$HP/', timeout=2)"
expect_in "the dead one is reported with its remote log" "exited during start-up" "$T/web.out"
expect_in "the remote log tail is shown" "cannot open the database" "$T/web.out"
C state show Service/web >"$T/web.state" 2>&1
expect_in "its outputs name the remote log" ".cratis/services/$PROJ._.web/log" "$T/web.state"
rm "$P/broken.yaml"

C destroy --auto-approve >"$T/destroy.out" 2>&1; expect_rc "destroy over ssh" 0 $?
check "destroy stopped the HTTP-checked Service" [ -z "$(pgrep -f "http.server $HP")" ]
check "destroy removed the File" [ ! -e "$R/etc/app.conf" ]
check "destroy ran the Task's destroy" [ ! -e "$R/task.out" ]
check "destroy stopped the Service" [ -z "$(pgrep -f "http.server $SP")" ]
check "destroy removed its remote directory" [ ! -e "$HOME/.cratis/services/$PROJ._.api" ]

finish
