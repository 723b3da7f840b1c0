#!/bin/sh
# A change that reaches a release only through what the Rollout depends on (a File's content, a
# Task's command or output) makes a new release, with its exit tests, even though the template
# reads the same: the plan says so, a failing exit test keeps the live release, and a passing one
# goes live.
. "$(dirname "$0")/lib.sh"
P="$T/app"
mkdir -p "$P/site"
export ACTIVE=$(free_port) PREVIEW=$(free_port)
cat >"$P/app.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
  variables:
    greeting: "${env:GREETING:-hello}"
    label: "${env:LABEL:-one}"
---
apiVersion: cratis/v1
kind: Project
metadata: {name: app}
---
apiVersion: file/v1
kind: File
metadata: {name: page}
spec:
  system: local
  path: site/index.html
  content: "<p>${greeting}</p>\n"
---
apiVersion: exec/v1
kind: Task
metadata: {name: stamp}
spec:
  apply: [sh, -c, 'printf "%s\n" "$0" > site/label.txt', "${label}"]
  dependsOn: [File/page]
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: web}
spec:
  activePort: "${env:ACTIVE}"
  previewPort: "${env:PREVIEW}"
  scaleDownDelaySeconds: 300
  template:
    # each release serves its own copy of the site, taken when it starts
    command: [sh, -c, 'd=.cratis/rel/$PORT && rm -rf "$d" && mkdir -p "$d" && cp site/* "$d"/ && exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$d"']
    health: {path: /, timeoutSeconds: 15}
  hooks:
    exitTests:
      - run: [sh, -c, '! curl -sf "$CRATIS_PREVIEW_URL" | grep -q broken']
  dependsOn: [File/page, Task/stamp]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
body() { curl -s --max-time 5 "$1"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
nrel() { C rollout history -o json 2>/dev/null | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }

C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "first release" 0 $?
expect_rc "it serves hello" "<p>hello</p>" "$(body "http://127.0.0.1:$ACTIVE/")"

# the page's content changes; the template does not
GREETING=bonjour C plan >"$T/plan2" 2>&1
expect_in "the plan updates the Rollout" "Rollout/web" "$T/plan2"
expect_in "and says why" "File/page changes, and the release runs what it produces: a new release" "$T/plan2"
GREETING=bonjour C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "the new content is released" 0 $?
expect_rc "a second release" 2 "$(nrel)"
expect_rc "it serves bonjour" "<p>bonjour</p>" "$(body "http://127.0.0.1:$ACTIVE/")"
C rollout history -o json >"$T/h2" 2>&1
check "the new release ran its exit tests" python3 -c "import json,sys; r=json.load(open('$T/h2'))[0]; sys.exit(0 if any(s['stage']=='exitTests' and s['result']=='ok' for s in r['stages']) else 1)"

# content that fails the exit tests never takes traffic
GREETING=broken C apply --auto-approve >/dev/null 2>"$T/a3.err"
expect_rc "content failing the exit tests is refused" 1 $?
expect_rc "the live release keeps serving bonjour" "<p>bonjour</p>" "$(body "http://127.0.0.1:$ACTIVE/")"

# a Task it depends on changes (its command): a new release as well
GREETING=bonjour LABEL=two C apply --auto-approve >/dev/null 2>"$T/a4.err"
expect_rc "the Task's change is released" 0 $?
expect_rc "it serves the new label" "two" "$(body "http://127.0.0.1:$ACTIVE/label.txt")"
# nothing changed: no new release, the plan converges
n=$(nrel)
GREETING=bonjour LABEL=two C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "plan converges" 0 $?
GREETING=bonjour LABEL=two C apply --auto-approve >/dev/null 2>&1
expect_rc "no release without a change" "$n" "$(nrel)"
finish
