# Shared by the experiment e2e tests (sourced after lib.sh): a project with a Rollout `web`
# whose releases run tests/e2e/experiment_app.py, and an Experiment `checkout` over it.
# write_project FILE EXPERIMENT_SPEC_YAML: the core documents, the Rollout, and the Experiment
# whose spec (indented by two spaces) is given.
APP="$SRC/tests/e2e/experiment_app.py"
LOAD="$SRC/tests/e2e/experiment_load.py"
export XP_ACTIVE_PORT=$(free_port) XP_PREVIEW_PORT=$(free_port)
PUB="http://127.0.0.1:$XP_ACTIVE_PORT"
write_project() {
	cat >"$1" <<YAML
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
    activePort: "\${env:XP_ACTIVE_PORT}"
    previewPort: "\${env:XP_PREVIEW_PORT}"
---
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: web}
spec:
  activePort: "\${activePort}"
  previewPort: "\${previewPort}"
  scaleDownDelaySeconds: 0
  template:
    command: [python3, "$APP"]
    env: {VARIANT: a, BUY_P: "0.10"}
    health: {path: /health, timeoutSeconds: 10}
  hooks:
    exitTests:
      - run: [sh, -c, 'curl -sf "\$CRATIS_PREVIEW_URL/health" >/dev/null']
        retries: 2
---
apiVersion: cratis/v1
kind: Experiment
metadata: {name: checkout}
spec:
$2
YAML
}
# jget FILE EXPR: a Python expression over the JSON document j in FILE
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# log_users LOG: distinct users per variant in the dealer's access log, as JSON
log_users() {
	python3 -c "
import json, sys
u = {}
for line in open(sys.argv[1]):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get('user') and d.get('path') == '/': u.setdefault(d['variant'], set()).add(d['user'])
print(json.dumps({k: len(v) for k, v in sorted(u.items())}))" "$1"
}
