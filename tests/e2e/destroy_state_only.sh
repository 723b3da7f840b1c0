#!/bin/sh
# destroy with state only (issue 10): when the manifests are gone or invalid, `cratis destroy
# --env E` destroys what the state records for E, each plugin called with the recorded spec, and
# says on stderr that the manifests were not used; without --env it refuses with a hint. Other
# environments' records stay.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
PORT=$(free_port)
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [local], variables: {dir: $T/staging}}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec: {systems: [local], variables: {dir: $T/production}}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
---
apiVersion: exec/v1
kind: Task
metadata: {name: mk}
spec: {apply: [mkdir, -p, "\${dir}"], destroy: [rm, -rf, "\${dir}"]}
---
apiVersion: file/v1
kind: File
metadata: {name: page}
spec: {path: "\${dir}/index.html", content: "hi\n", dependsOn: [Task/mk]}
---
apiVersion: service/v1
kind: Service
metadata: {name: web, environments: [staging]}
spec:
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1, --directory, "$T/staging"]
  health: {http: "http://127.0.0.1:$PORT/", timeoutSeconds: 15}
  dependsOn: [File/page]
YAML
"$CRATIS" apply -f "$P" --env staging --auto-approve >"$T/a1.out" 2>&1
expect_rc "apply staging" 0 $?
"$CRATIS" apply -f "$P" --env production --auto-approve >"$T/a2.out" 2>&1
expect_rc "apply production" 0 $?
check "staging serves" sh -c "curl -sf http://127.0.0.1:$PORT/ | grep -q hi"

# broken manifests
printf 'apiVersion: cratis/v1\nkind: [\n' >"$P/m.yaml"
"$CRATIS" destroy -f "$P" --auto-approve >"$T/noenv.out" 2>&1
expect_rc "destroy without --env on broken manifests" 1 $?
expect_in "the hint names --env" "name the environment: --env NAME" "$T/noenv.out"
check "nothing was destroyed" test -d "$T/staging"
"$CRATIS" destroy -f "$P" --env staging --auto-approve >"$T/d.out" 2>"$T/d.err"
expect_rc "destroy --env staging from state only" 0 $?
expect_in "says the manifests were not used" "the manifests were not used" "$T/d.err"
expect_in "deletes the Service" "Service/web: deleted" "$T/d.err"
expect_in "summary" "Destroy complete: 3 succeeded" "$T/d.out"
check "the Task's recorded destroy command ran" test ! -d "$T/staging"
check "the Service is stopped" sh -c "! curl -sf http://127.0.0.1:$PORT/ >/dev/null 2>&1"
check "production is untouched" test -f "$T/production/index.html"
"$CRATIS" state list -f "$P" --env staging >"$T/sl.out" 2>&1
check "nothing recorded for staging" test ! -s "$T/sl.out"

# manifests gone
rm "$P/m.yaml"
"$CRATIS" destroy -f "$P" --env production --auto-approve >"$T/d2.out" 2>"$T/d2.err"
expect_rc "destroy --env production with no manifests" 0 $?
expect_in "says so" "the manifests were not used" "$T/d2.err"
check "production destroyed" test ! -d "$T/production"
"$CRATIS" history -f "$P" --env production >"$T/h.out" 2>&1
expect_in "recorded in history" "cratis destroy" "$T/h.out"
finish
