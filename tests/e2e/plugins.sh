#!/bin/sh
# Built-in plugins end to end: Task outputs feeding a File, Task check drift, a failing Task that
# skips its dependents while independent work finishes, a Service whose health check times out
# (stopped, log tail shown), and a Service that never holds cratis' stdout open.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
PORT=$(free_port)
cat >"$P/m.yaml" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: version}
spec:
  apply: [sh, -c, "echo noise; echo version=1.2.3; echo build=42"]
  outputs: [version, build]
---
apiVersion: file/v1
kind: File
metadata: {name: release}
spec:
  path: release.txt
  content: "\${Task/version.outputs.version}+\${Task/version.outputs.build}\n"
  mode: "0600"
---
apiVersion: exec/v1
kind: Task
metadata: {name: marker}
spec:
  apply: [touch, marker]
  destroy: [rm, -f, marker]
  check: [test, -e, marker]
YAML
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "apply tasks and file" 0 $?
expect_in "an output of a Task reached a File" "1.2.3+42" "$P/release.txt"
check "the file has its mode" sh -c "[ \$(stat -c %a '$P/release.txt') = 600 ]"
rm "$P/marker"
chmod 644 "$P/release.txt"
"$CRATIS" plan -f "$P" >"$T/p2.out" 2>&1
expect_in "a failing check is drift" "Task/marker                      update [drift: check command failed]" "$T/p2.out"
expect_in "a changed mode is drift" "File/release                     update [drift: mode of" "$T/p2.out"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
check "apply repaired the task" test -e "$P/marker"

# File createParents (issue 10): missing parent directories are created 0755 when asked, and
# only then
P2="$T/parents"
mkdir -p "$P2"
cat >"$P2/m.yaml" <<YAML
apiVersion: file/v1
kind: File
metadata: {name: deep}
spec: {path: out/a/b/deep.txt, content: "deep\n", createParents: true}
---
apiVersion: file/v1
kind: File
metadata: {name: flat}
spec: {path: none/x/flat.txt, content: "flat\n"}
YAML
(umask 077; "$CRATIS" apply -f "$P2" --auto-approve >/dev/null 2>"$T/cp.err")
expect_rc "a File without createParents fails on a missing directory" 1 $?
expect_in "createParents: the file is written" "deep" "$P2/out/a/b/deep.txt"
check "createParents: directories are 0755 whatever the umask" sh -c "[ \$(stat -c %a '$P2/out/a') = 755 ] && [ \$(stat -c %a '$P2/out/a/b') = 755 ]"
expect_in "without createParents: the error names the file" "cannot write" "$T/cp.err"
check "without createParents: no directory is created" test ! -e "$P2/none"
sed -i 's/createParents: true/createParents: "yes"/' "$P2/m.yaml"
"$CRATIS" plan -f "$P2" >"$T/cp2.out" 2>&1
expect_rc "createParents must be a boolean" 1 $?
expect_in "located" "m.yaml:4:67: spec.createParents: File/deep: plugin 'file': expected true or false" "$T/cp2.out"

# a failure skips dependents, independent work finishes, everything is recorded
cat >"$P/fail.yaml" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: broken}
spec:
  apply: [sh, -c, "echo something went wrong >&2; exit 3"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: after-broken}
spec:
  apply: [touch, after-broken]
  dependsOn: [Task/broken]
---
apiVersion: exec/v1
kind: Task
metadata: {name: independent}
spec:
  apply: [sh, -c, "sleep 0.5; touch independent"]
YAML
"$CRATIS" apply -f "$P" --auto-approve >"$T/a3.out" 2>"$T/a3.err"
expect_rc "apply with a failure exits 1" 1 $?
expect_in "the failure names the command and its stderr" "Task/broken: create failed: plugin 'exec': apply command 'sh' exited with status 3: something went wrong" "$T/a3.err"
expect_in "dependents are skipped" "Task/after-broken: skipped because Task/broken did not succeed" "$T/a3.err"
expect_in "summary (on stdout)" "Apply failed: 1 succeeded, 1 failed, 1 skipped" "$T/a3.out"
check "independent work finished" test -e "$P/independent"
check "the dependent did not run" test ! -e "$P/after-broken"
"$CRATIS" get -f "$P" >"$T/get.out" 2>&1
expect_in "get shows the failure" "Task/broken                      default      failed" "$T/get.out"
id=$("$CRATIS" history -f "$P" -o json | sed -n 's/.*"id": \([0-9]*\).*/\1/p' | head -n 1)
"$CRATIS" history "$id" -f "$P" >"$T/steps.out" 2>&1
expect_in "history keeps the failed step with its message" "exited with status 3" "$T/steps.out"
rm "$P/fail.yaml"

# a service whose health check never passes: failure, process stopped, log tail shown
cat >"$P/svc.yaml" <<YAML
apiVersion: service/v1
kind: Service
metadata: {name: silent}
spec:
  command: [sh, -c, "echo starting up; exec sleep 300"]
  health: {tcp: "127.0.0.1:$PORT", timeoutSeconds: 1}
YAML
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a4.err"
expect_rc "unhealthy service fails the apply" 1 $?
expect_in "the health check is named" "health check 127.0.0.1:$PORT did not pass within the timeout; process stopped" "$T/a4.err"
expect_in "the log tail is shown" "starting up" "$T/a4.err"
check "no process left behind" test -z "$(own_procs 'sleep 30[0]')"

# a healthy service started in a pipeline: cratis returns, the pipe closes
cat >"$P/svc.yaml" <<YAML
apiVersion: service/v1
kind: Service
metadata: {name: silent}
spec:
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1]
  health: {http: "http://127.0.0.1:$PORT/?health", timeoutSeconds: 15}
YAML
stop_servers() { pkill -f "http.server $PORT" 2>/dev/null; return 0; }
cleanup_hooks="stop_servers"
timeout 30 sh -c "'$CRATIS' apply -f '$P' --auto-approve 2>&1 | cat >'$T/a5.out'"
expect_rc "apply in a pipeline returns (the service holds no cratis descriptor)" 0 $?
check "the service runs after cratis exited" sh -c "pgrep -f 'http[.]server $PORT' >/dev/null"
"$CRATIS" state show Service/silent -f "$P" >"$T/svc.show" 2>&1
expect_in "the url output is the service's address" "\"url\": \"http://127.0.0.1:$PORT/\"" "$T/svc.show"
expect_in "the health check URL is its own output" "\"healthUrl\": \"http://127.0.0.1:$PORT/?health\"" "$T/svc.show"
"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
wait_for 5 sh -c "! pgrep -f 'http[.]server $PORT' >/dev/null"
check "service stopped by destroy" sh -c "! pgrep -f 'http[.]server $PORT' >/dev/null"
check "marker removed by the task's destroy" test ! -e "$P/marker"
check "file removed" test ! -e "$P/release.txt"
finish
