#!/bin/sh
# The recreate strategy (one process: the live release stops, the new one starts) and hooks that
# run a Task resource of the project; a failing exit test starts the previous release again.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
cat >"$P/app.yaml" <<'YAML'
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec:
  variables:
    version: "${env:APP_VERSION:-v1}"
    activePort: "${env:ROLLOUT_ACTIVE_PORT}"
    previewPort: "${env:ROLLOUT_PREVIEW_PORT}"
---
apiVersion: exec/v1
kind: Task
metadata: {name: build}
spec:
  apply: [sh, -c, 'mkdir -p site/$0 && echo "app $0" > site/$0/index.html', "${version}"]
---
# run as a hook (and applied once as a resource, when CRATIS_STAGE is unset)
apiVersion: exec/v1
kind: Task
metadata: {name: smoke}
spec:
  apply: [sh, -c, 'test -z "$CRATIS_STAGE" || { test "$0" != v3 && curl -sf "$CRATIS_RELEASE_URL" | grep -q "app $0"; }', "${version}"]
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: web}
spec:
  strategy: recreate
  activePort: "${activePort}"
  previewPort: "${previewPort}"
  template:
    command: [sh, -c, 'exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "site/$0"', "${version}"]
  hooks:
    exitTests:
      - task: Task/smoke
  dependsOn: [Task/build]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
PUB="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
# release processes of this test, found by the ports its releases were given
releases() {
	n=0
	for port in $(C rollout history -o json 2>/dev/null | python3 -c "import json,sys; print(' '.join(str(r['port']) for r in json.load(sys.stdin)))"); do
		pgrep -f "http[.]server $port " >/dev/null && n=$((n + 1))
	done
	echo "$n"
}

APP_VERSION=v1 C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "first release (recreate)" 0 $?
expect_rc "public answers v1" "app v1" "$(curl -s "$PUB")"
expect_in "the Task ran as the exit test" "exitTests hook 1 passed" "$T/a1.err"
APP_VERSION=v2 C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "second release (recreate)" 0 $?
expect_rc "public answers v2" "app v2" "$(curl -s "$PUB")"
expect_rc "one release process: the old one was stopped" 1 "$(releases)"
C rollout history >"$T/h" 2>&1
expect_in "history: the old release was stopped for the new one" "stopped to make room for the new release" "$T/h"
APP_VERSION=v3 C apply --auto-approve >/dev/null 2>"$T/a3.err"
expect_rc "a failing exit test" 1 $?
expect_in "the previous release was started again" "the previous release was started again" "$T/a3.err"
expect_rc "public answers v2 again" "app v2" "$(curl -s "$PUB")"
expect_rc "still one release process" 1 "$(releases)"
sed -i 's/- task: Task\/smoke/- task: Task\/nope/' "$P/app.yaml"
C plan >/dev/null 2>"$T/p.err"
expect_rc "a hook naming an unknown Task is refused" 1 $?
expect_in "with the reference named" "unknown reference 'Task/nope'" "$T/p.err"
sed -i 's/- task: Task\/nope/- task: Task\/smoke/' "$P/app.yaml"
C rollout history -o json >"$T/h" 2>&1
C destroy --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
left=0
for port in $(python3 -c "import json; print(' '.join(str(r['port']) for r in json.load(open('$T/h'))))"); do
	pgrep -f "http[.]server $port " >/dev/null && left=$((left + 1))
done
expect_rc "no release process left" 0 "$left"
finish
