#!/bin/sh
# cratis serve (issue 14, first slice) on SQLite: the OpenAPI document matches the routes; every
# route answers 401 without a token, 403 for a role the policy does not allow, and succeeds for
# one it does; a project is registered, planned and applied through the API (202, then the
# deployment listed with its steps); invalid manifests come back as a problem document with
# file:line:col and field; outputs keep sensitive values out; tokens are never stored or logged
# in clear; /readyz and /metrics; SIGTERM interrupts a running deployment, releases the lock and
# exits 0.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
S="$T/srv"
P="$T/proj"
mkdir -p "$P" "$T/bad" "$T/slow"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<YAML
spec:
  outputs:
    dir: "\${Task/mk.outputs.dir}"
    token: {value: "\${Task/mk.outputs.token}", sensitive: true}
---
apiVersion: exec/v1
kind: Task
metadata: {name: mk}
spec:
  apply: [sh, -c, 'echo ran >"$T/ran"; echo dir=/srv/x; echo token=tok-Zx81q']
  outputs: [dir, token]
YAML
demo_core "$T/bad/m.yaml"
cat >>"$T/bad/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: oops}
spec:
  aply: [true]
YAML
demo_core "$T/slow/m.yaml"
sed -i 's/name: staging/name: slow/; s/name: demo/name: slowp/' "$T/slow/m.yaml"
cat >>"$T/slow/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: wait}
spec:
  apply: [sh, -c, 'touch "$T/slow.started"; sleep 60']
YAML

# only serve opens libmicrohttpd (and the GnuTLS behind it)
LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ver.ld" "$CRATIS" version >/dev/null 2>&1
cat "$T"/ver.ld.* >"$T/ver.ld" 2>/dev/null
expect_in "the loader trace is recorded" "file=libjansson" "$T/ver.ld"
expect_not_in "cratis version does not load libmicrohttpd" "file=libmicrohttpd" "$T/ver.ld"

# tokens and the policy
ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
READER=$("$CRATIS" token create --state-dir "$S" --subject viewer --role readonly 2>/dev/null)
GUEST=$("$CRATIS" token create --state-dir "$S" --subject mallory --role guest 2>/dev/null)
BOB=$("$CRATIS" token create --state-dir "$S" --subject bob --role nobody 2>/dev/null)
DEPLOYER=$("$CRATIS" token create --state-dir "$S" --subject ci --role deployer --expires 1h 2>"$T/create.err")
expect_in "create says the token is shown once" "shown once" "$T/create.err"
case "$ADMIN" in cratis_*) ok "token create prints the token";; *) fail "token create printed '$ADMIN'";; esac
"$CRATIS" token create --state-dir "$S" --subject x --role r --expires 3weeks >/dev/null 2>"$T/exp.err"
expect_rc "a bad --expires is a usage error" 64 $?
"$CRATIS" token list --state-dir "$S" -o json >"$T/tokens.json"
check "token list shows the five tokens" test "$(jq_py 'len(d)' <"$T/tokens.json")" = 5
check "token list shows the expiry" test "$(jq_py '[t for t in d if t["subject"]=="ci"][0]["expires"] is not None' <"$T/tokens.json")" = true
cat >"$T/policy.csv" <<'CSV'
# deployers plan and deploy staging, and read what they deploy
p, role:deployer, plans, create, staging/*, allow
p, role:deployer, deployments, create, staging/*, allow
p, role:deployer, deployments, get, *, allow
p, role:deployer, *, get, *, allow
p, role:deployer, locks, get, *, deny
g, bob, role:deployer
CSV
printf 'p, role:x, plans, create, */*, maybe\n' >"$T/badpolicy.csv"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --policy "$T/badpolicy.csv" >"$T/bp.out" 2>&1
expect_rc "an invalid policy is refused" 1 $?
expect_in "located, naming the field" "badpolicy.csv:1:32: effect: expected allow or deny" "$T/bp.out"
"$CRATIS" serve --state-dir "$S" --listen localhost:x >"$T/bl.out" 2>&1
expect_rc "an invalid --listen is refused" 1 $?

LOG="$T/serve.log"
check "serve starts on a free loopback port" start_server "$S" "$LOG" --policy "$T/policy.csv"
server_cleanup() { stop_server KILL; }
cleanup_hooks="server_cleanup $cleanup_hooks"

# the OpenAPI document against the routes table
check "GET / lists the routes" test "$(req GET / -)" = 200
cp "$T/resp" "$T/index.json"
check "GET /v1/openapi.json" test "$(req GET /v1/openapi.json -)" = 200
cp "$T/resp" "$T/openapi.json"
python3 "$SRC/tests/server/openapi_check.py" "$T/openapi.json" "$T/index.json" >"$T/oa.out" 2>&1
check "the OpenAPI document is valid and documents exactly the routes" test $? = 0
sed 's/^/    /' "$T/oa.out"

# health
check "livez" test "$(req GET /livez -)" = 200
expect_in "livez says the time" '"time":' "$T/resp"
check "readyz" test "$(req GET '/readyz?verbose' -)" = 200
expect_in "readyz?verbose lists the state check" '"name":"state","status":"ok"' "$T/resp"
expect_in "readyz?verbose lists the plugins check" '"name":"plugins","status":"ok"' "$T/resp"
req GET /readyz - >/dev/null
expect_not_in "readyz without verbose lists no checks" '"checks"' "$T/resp"

# register the project
body="{\"name\":\"demo\",\"path\":\"$P\"}"
check "POST /v1/projects registers a project" test "$(req POST /v1/projects "$ADMIN" "$body")" = 201
expect_in "with its environments" '"name":"staging"' "$T/resp"
check "registering it again is a conflict" test "$(req POST /v1/projects "$ADMIN" "$body")" = 409
check "a relative path is refused" test "$(req POST /v1/projects "$ADMIN" '{"name":"x","path":"rel"}')" = 422
expect_in "as a problem document naming the field" '"field":"path"' "$T/resp"
check "a body that is not JSON is a 400" test "$(req POST /v1/projects "$ADMIN" '{"name":')" = 400
req POST /v1/projects "$ADMIN" "{\"name\":\"bad\",\"path\":\"$T/bad\"}" >/dev/null
req POST /v1/projects "$ADMIN" "{\"name\":\"slowp\",\"path\":\"$T/slow\"}" >/dev/null

# every route: no token 401, a role the policy does not name 403, allowed 2xx (table-driven)
# METHOD PATH BODY WANT (with the admin token)
while read -r m p b want; do
	[ "$b" = "-" ] && b=""
	c=$(req "$m" "$p" - "$b"); [ "$c" = 401 ] && ok "$m $p without a token: 401" || fail "$m $p without a token: $c"
	grep -qi '^WWW-Authenticate: Bearer' "$T/resp.h" || fail "$m $p: 401 without WWW-Authenticate"
	c=$(req "$m" "$p" "$GUEST" "$b"); [ "$c" = 403 ] && ok "$m $p as guest: 403" || fail "$m $p as guest: $c"
	grep -q '"status":403' "$T/resp" || fail "$m $p: 403 is not a problem document"
	c=$(req "$m" "$p" "$ADMIN" "$b"); [ "$c" = "$want" ] && ok "$m $p as admin: $want" || { fail "$m $p as admin: $c"; cat "$T/resp"; }
done <<EOF2
GET /v1/projects - 200
POST /v1/projects {"name":"demo2","path":"$P"} 201
GET /v1/projects/demo/environments - 200
POST /v1/projects/demo/plans {"env":"staging"} 200
GET /v1/projects/demo/environments/staging/resources - 200
GET /v1/projects/demo/environments/staging/outputs - 200
GET /v1/deployments - 200
GET /v1/locks - 200
GET /v1/experiments - 200
GET /v1/projects/demo/environments/staging/experiments/none - 404
EOF2
# the deployment routes of the table: they change things, so they run in the scenario below
for r in "POST /v1/projects/demo/deployments" "GET /v1/deployments/1"; do
	set -- $r
	c=$(req "$1" "$2" - '{"env":"staging"}'); [ "$c" = 401 ] && ok "$r without a token: 401" || fail "$r without a token: $c"
	c=$(req "$1" "$2" "$GUEST" '{"env":"staging"}'); [ "$c" = 403 ] && ok "$r as guest: 403" || fail "$r as guest: $c"
done
check "an unknown route is a 404 problem" test "$(req GET /v1/nope "$ADMIN")" = 404
check "a wrong method is a 405 with Allow" test "$(req DELETE /v1/projects "$ADMIN")" = 405
expect_in "Allow names the methods" "Allow: GET, POST" "$T/resp.h"
check "a malformed token is a 401" test "$(req GET /v1/projects cratis_nope)" = 401

# the policy: roles, g rules, deny wins, readonly
check "readonly may read" test "$(req GET /v1/deployments "$READER")" = 200
check "readonly may not plan" test "$(req POST /v1/projects/demo/plans "$READER" '{"env":"staging"}')" = 403
check "deployer may plan staging" test "$(req POST /v1/projects/demo/plans "$DEPLOYER" '{"env":"staging"}')" = 200
check "deployer may not plan another environment" test "$(req POST /v1/projects/slowp/plans "$DEPLOYER" '{"env":"slow"}')" = 403
check "deployer may not register projects" test "$(req POST /v1/projects "$DEPLOYER" '{"name":"y","path":"/"}')" = 403
check "a deny rule wins over an allow" test "$(req GET /v1/locks "$DEPLOYER")" = 403
check "a g rule gives bob the deployer role" test "$(req POST /v1/projects/demo/plans "$BOB" '{"env":"staging"}')" = 200
expect_in "denials are logged with the subject" "denied mallory (role:guest)" "$LOG"

# plan with diagnostics, through the API
check "plan" test "$(req POST /v1/projects/demo/plans "$ADMIN" '{"env":"staging"}')" = 200
check "the plan creates Task/mk" test "$(jq_py '[r["action"] for r in d["resources"] if r["id"].endswith("Task/mk")][0]' <"$T/resp")" = create
check "the plan has changes" test "$(jq_py 'd["changes"]' <"$T/resp")" = true
check "a plan of invalid manifests is a 422" test "$(req POST /v1/projects/bad/plans "$ADMIN" '{"env":"staging"}')" = 422
expect_in "as application/problem+json" "Content-Type: application/problem+json" "$T/resp.h"
check "the diagnostic is located" test "$(jq_py '[[x["file"].endswith("bad/m.yaml"), x["line"], x["column"], x["field"]] for x in d["diagnostics"]][0]' <"$T/resp")" = '[true, 19, 3, "spec.aply"]'
check "an unknown environment is a 422" test "$(req POST /v1/projects/demo/plans "$ADMIN" '{"env":"prod"}')" = 422
check "an unregistered project is a 404" test "$(req POST /v1/projects/nope/plans "$ADMIN" '{"env":"staging"}')" = 404

# apply through the API: 202 with the id, then the deployment with its steps
check "deploy is accepted" test "$(req POST /v1/projects/demo/deployments "$DEPLOYER" '{"env":"staging"}')" = 202
ID=$(jq_py 'd["id"]' <"$T/resp")
expect_in "with a Location" "Location: /v1/deployments/$ID" "$T/resp.h"
done_result() { req GET "/v1/deployments/$ID" "$READER" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" != running ] && [ "$r" != None ]; }
check "the deployment finishes" wait_for 60 done_result
check "it succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
check "with its steps" test "$(jq_py '[(s["resource"], s["action"], s["result"]) for s in d["steps"]]' <"$T/resp")" = '[["Task/mk", "create", "ok"]]'
check "the Task ran" test -f "$T/ran"
check "deployments lists it" test "$(req GET '/v1/deployments?env=staging' "$READER")" = 200
check "once, for staging" test "$(jq_py '[x["id"] for x in d]' <"$T/resp")" = "[$ID]"
check "deploying again changes nothing" test "$(req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}')" = 200
req GET /v1/projects/demo/environments/staging/resources "$READER" >/dev/null
check "resources are ready" test "$(jq_py '[r["status"] for r in d]' <"$T/resp")" = '["ready"]'
req GET /v1/projects/demo/environments/staging/outputs "$READER" >/dev/null
check "outputs: the plain one" test "$(jq_py '[o["value"] for o in d if o["name"]=="dir"][0]' <"$T/resp")" = /srv/x
expect_not_in "outputs: the sensitive one is redacted" "tok-Zx81q" "$T/resp"
check "a deployment that does not exist is a 404" test "$(req GET /v1/deployments/999 "$ADMIN")" = 404

# tokens are never in clear on disk or in the log
for tok in "$ADMIN" "$DEPLOYER" "$GUEST"; do
	secret=${tok##*_}
	grep -rqF "$secret" "$S" "$LOG" && fail "a token secret is stored or logged in clear" || ok "the token secret is neither stored nor logged"
done
"$CRATIS" token revoke --state-dir "$S" "$(echo "$GUEST" | cut -d_ -f2)" 2>/dev/null
check "a revoked token is refused at once" test "$(req GET /v1/projects "$GUEST")" = 401

# metrics
check "metrics" test "$(req GET /metrics -)" = 200
expect_in "requests by route and code" 'cratis_http_requests_total{method="GET",route="/v1/projects",code="401"}' "$T/resp"
expect_in "a duration histogram" 'cratis_http_request_duration_seconds_bucket{method="POST",route="/v1/projects/{project}/plans",le="+Inf"}' "$T/resp"
expect_in "deployments" 'cratis_deployments_total{result="succeeded"} 1' "$T/resp"

# /readyz fails when the state store cannot be read, and recovers
mv "$S/state.db" "$S/state.db.saved"
printf 'not a database, not at all......................................................................' >"$S/state.db"
check "readyz fails while the store is broken" test "$(req GET /readyz -)" = 503
expect_in "naming the state check" '"name":"state","status":"failed"' "$T/resp"
rm -f "$S/state.db"; mv "$S/state.db.saved" "$S/state.db"
check "readyz recovers" test "$(req GET /readyz -)" = 200

# a second deployment of an environment whose lock is held is a 409; SIGTERM interrupts the first
check "a slow deployment starts" test "$(req POST /v1/projects/slowp/deployments "$ADMIN" '{"env":"slow"}')" = 202
SID=$(jq_py 'd["id"]' <"$T/resp")
check "its Task runs" wait_for 30 test -f "$T/slow.started"
check "a second one is refused: locked" test "$(req POST /v1/projects/slowp/deployments "$ADMIN" '{"env":"slow"}')" = 409
req GET /v1/locks "$ADMIN" >/dev/null
check "the lock is listed" test "$(jq_py '[l["environment"] for l in d]' <"$T/resp")" = '["slow"]'
stop_server TERM
expect_rc "serve exits 0 after SIGTERM" 0 "$SERVER_RC"
expect_in "it says it shut down" "cratis serve: stopped" "$LOG"
"$CRATIS" history --state-dir "$S" -f "$T/slow" -o json >"$T/hist.json" 2>/dev/null
check "the deployment is recorded as interrupted" test "$(jq_py '[x["result"] for x in d if x["id"]=='"$SID"']' <"$T/hist.json")" = '["interrupted"]'
"$CRATIS" state list --state-dir "$S" -f "$T/slow" --env slow -o json >"$T/locks.json" 2>&1
expect_not_in "the lock is released" '"pid"' "$T/locks.json"
check "no sleep is left behind" test -z "$(own_procs 'sleep 60')"

# the registry survives a restart; a damaged one is refused, located
check "serve starts again" start_server "$S" "$LOG"
req GET /v1/projects "$READER" >/dev/null
check "with the registered projects, by name (records of the store)" test "$(jq_py '[p["name"] for p in d]' <"$T/resp")" = '["bad", "demo", "demo2", "slowp"]'
stop_server TERM
printf '{"projects": [{"name": 3}]}' >"$S/projects.json"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 >"$T/dmg.out" 2>&1
expect_rc "a damaged projects.json is refused" 1 $?
expect_in "located" "projects.json: projects[0]: expected an object with a string name and path" "$T/dmg.out"
finish
