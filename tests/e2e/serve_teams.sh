#!/bin/sh
# cratis serve (issue 14): environments as master records, teams and namespaces with quotas.
# Every new route answers 401 without a token and 403 to a role the policy does not allow
# (table-driven); an admin or a product owner (policy) manages environments; a team's owners
# change it and its namespaces, its members read them, outsiders get 403; deleting a team is for
# the policy only; ETag and If-Match (412); every change is an event in /v1/events; a plan over a
# namespace's quota is refused through the API (422) and through `cratis plan`, naming the
# namespace, the quota and the figures, and passes once the quota is raised.
# `serve_teams.sh pg` runs the same on PostgreSQL state (under tests/pg/with-postgres.sh).
if [ "${1:-}" = pg ] && [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
S="$T/srv"
mkdir -p "$T/p1" "$T/p2" "$T/p3"
# the store: SQLite in the state directory, or a schema of the test's PostgreSQL
if [ "${1:-}" = pg ]; then
	unset CRATIS_STATE CRATIS_STATE_DIR
	set -- --state "$CRATIS_TEST_PG_URL?schema=e2e_teams"
else
	set --
fi
STATE_URL=${2:-}

ADMIN=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject root --role admin 2>/dev/null)
PO=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject paula --role product-owner 2>/dev/null)
ALICE=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject alice --role developer 2>/dev/null)
BOB=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject bob --role developer 2>/dev/null)
CAROL=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject carol --role developer 2>/dev/null)
GUEST=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject mallory --role guest 2>/dev/null)
READER=$("$CRATIS" token create --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} --subject viewer --role readonly 2>/dev/null)
cat >"$T/policy.csv" <<'CSV'
# the product owner manages the environment master records
p, role:product-owner, environments, *, *, allow
# developers create teams; a team's owners change it (no rule needed), only the policy deletes one
p, role:developer, teams, create, *, allow
CSV
LOG="$T/serve.log"
check "serve starts" start_server "$S" "$LOG" --policy "$T/policy.csv" "$@"
server_cleanup() { stop_server KILL; }
cleanup_hooks="server_cleanup $cleanup_hooks"

# the OpenAPI document still documents exactly the routes
req GET / - >/dev/null; cp "$T/resp" "$T/index.json"
req GET /v1/openapi.json - >/dev/null; cp "$T/resp" "$T/openapi.json"
python3 "$SRC/tests/server/openapi_check.py" "$T/openapi.json" "$T/index.json" >"$T/oa.out" 2>&1
check "the OpenAPI document documents the new routes" test $? = 0
sed 's/^/    /' "$T/oa.out"
expect_in "GET / lists the namespace route" '/v1/teams/{team}/namespaces/{env}/{ns}' "$T/index.json"

# ---- environments: master records, created by an admin or the product owner ----
check "an admin creates staging" test "$(req POST /v1/environments "$ADMIN" '{"name":"staging","description":"pre-production","labels":{"tier":"pre"}}')" = 201
expect_in "with a Location" "Location: /v1/environments/staging" "$T/resp.h"
expect_in "and its revision as the ETag" 'ETag: "1"' "$T/resp.h"
check "the product owner creates production (policy)" test "$(req POST /v1/environments "$PO" '{"name":"production","protected":true}')" = 201
check "a developer may not create an environment" test "$(req POST /v1/environments "$ALICE" '{"name":"dev"}')" = 403
expect_in "the denial is logged" "denied alice (role:developer): create environments dev" "$LOG"
check "creating it again is a conflict" test "$(req POST /v1/environments "$ADMIN" '{"name":"staging"}')" = 409
check "a bad name is a 422" test "$(req POST /v1/environments "$ADMIN" '{"name":"Staging!"}')" = 422
expect_in "naming the field" '"field":"name"' "$T/resp"
check "an unknown field is a 422" test "$(req POST /v1/environments "$ADMIN" '{"name":"qa","colour":"red"}')" = 422
expect_in "naming it" "unknown field 'colour'" "$T/resp"
check "readonly lists the environments" test "$(req GET /v1/environments "$READER")" = 200
check "both, by name" test "$(jq_py '[e["name"] for e in d]' <"$T/resp")" = '["production", "staging"]'
check "GET one" test "$(req GET /v1/environments/production "$READER")" = 200
check "protected is kept" test "$(jq_py 'd["protected"]' <"$T/resp")" = true
check "PUT with the current ETag" test "$(curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' -X PUT -H "Authorization: Bearer $PO" -H 'If-Match: "1"' --data '{"description":"live","protected":true}' "$URL/v1/environments/production")" = 200
expect_in "the new revision is the ETag" 'ETag: "2"' "$T/resp.h"
check "PUT with a stale ETag is a 412" test "$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H "Authorization: Bearer $PO" -H 'If-Match: "1"' --data '{"description":"stale"}' "$URL/v1/environments/production")" = 412
expect_in "saying which revision the store holds" "is at revision 2, not 1" "$T/resp"
check "a malformed If-Match is a 400" test "$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H "Authorization: Bearer $PO" -H 'If-Match: soon' --data '{}' "$URL/v1/environments/production")" = 400
check "PUT of an unknown environment is a 404" test "$(req PUT /v1/environments/nope "$ADMIN" '{}')" = 404
req GET /v1/environments/production "$READER" >/dev/null
check "the stale PUT changed nothing" test "$(jq_py 'd["description"]' <"$T/resp")" = live
check "a protected environment is not deleted" test "$(req DELETE /v1/environments/production "$ADMIN")" = 409
expect_in "saying so" "environment 'production' is protected" "$T/resp"

# ---- teams ----
check "alice creates team-a (policy: developers create teams)" test "$(req POST /v1/teams "$ALICE" '{"name":"team-a","description":"web","members":[{"subject":"alice","role":"owner"},{"subject":"bob","role":"member"}]}')" = 201
check "a team with a bad member role is a 422" test "$(req POST /v1/teams "$ADMIN" '{"name":"team-x","members":[{"subject":"x","role":"boss"}]}')" = 422
expect_in "naming the field" '"field":"members[0].role"' "$T/resp"
check "guest may not create a team" test "$(req POST /v1/teams "$GUEST" '{"name":"team-g"}')" = 403
check "the owner reads it" test "$(req GET /v1/teams/team-a "$ALICE")" = 200
check "a member reads it" test "$(req GET /v1/teams/team-a "$BOB")" = 200
expect_in "with its ETag" 'ETag: "1"' "$T/resp.h"
check "someone else may not" test "$(req GET /v1/teams/team-a "$CAROL")" = 403
check "a member may not update it" test "$(req PUT /v1/teams/team-a "$BOB" '{"members":[{"subject":"bob","role":"owner"}]}')" = 403
check "the owner updates it" test "$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H "Authorization: Bearer $ALICE" -H 'If-Match: "1"' --data '{"description":"web shop","members":[{"subject":"alice","role":"owner"},{"subject":"bob","role":"member"},{"subject":"carol","role":"member"}]}' "$URL/v1/teams/team-a")" = 200
check "carol is a member now" test "$(req GET /v1/teams/team-a "$CAROL")" = 200
check "revision 2" test "$(jq_py 'd["revision"]' <"$T/resp")" = 2
check "a role may be a member: team-b is owned by role:product-owner" test "$(req POST /v1/teams "$ADMIN" '{"name":"team-b","members":[{"subject":"role:product-owner","role":"owner"}]}')" = 201
check "every product owner owns team-b" test "$(req PUT /v1/teams/team-b "$PO" '{"description":"platform"}')" = 200
check "a developer does not" test "$(req PUT /v1/teams/team-b "$ALICE" '{"description":"x"}')" = 403
check "team-b is deleted (policy)" test "$(req DELETE /v1/teams/team-b "$ADMIN")" = 200
check "the owner may not delete the team (policy only)" test "$(req DELETE /v1/teams/team-a "$ALICE")" = 403
expect_in "logged" "denied alice (role:developer): delete teams team-a" "$LOG"
check "developers without a rule may not list every team" test "$(req GET /v1/teams "$BOB")" = 403
check "readonly lists the teams" test "$(req GET /v1/teams "$READER")" = 200
check "one team" test "$(jq_py '[t["name"] for t in d]' <"$T/resp")" = '["team-a"]'

# ---- namespaces ----
check "the owner creates team-a's staging/web namespace" test "$(req POST /v1/teams/team-a/namespaces "$ALICE" '{"environment":"staging","name":"web","quota":{"cpu":"1","memory":"512Mi","services":2}}')" = 201
expect_in "at its Location" "Location: /v1/teams/team-a/namespaces/staging/web" "$T/resp.h"
check "a member may not create one" test "$(req POST /v1/teams/team-a/namespaces "$BOB" '{"environment":"staging","name":"api"}')" = 403
check "an environment that is not a master record is a 422" test "$(req POST /v1/teams/team-a/namespaces "$ALICE" '{"environment":"qa","name":"web"}')" = 422
expect_in "naming it" "no environment 'qa'" "$T/resp"
check "a malformed quantity is a 422" test "$(req POST /v1/teams/team-a/namespaces "$ALICE" '{"environment":"production","name":"web","quota":{"memory":"1GB"}}')" = 422
expect_in "naming the field" '"field":"quota.memory"' "$T/resp"
check "a namespace of an unknown team is a 404" test "$(req POST /v1/teams/team-z/namespaces "$ADMIN" '{"environment":"staging","name":"web"}')" = 404
check "a member reads the namespace" test "$(req GET /v1/teams/team-a/namespaces/staging/web "$BOB")" = 200
check "with its quota" test "$(jq_py 'd["quota"]' <"$T/resp")" = '{"cpu": "1", "memory": "512Mi", "services": 2}'
check "a member lists the namespaces" test "$(req GET /v1/teams/team-a/namespaces "$BOB")" = 200
check "one" test "$(jq_py '[n["environment"] + "/" + n["name"] for n in d]' <"$T/resp")" = '["staging/web"]'
check "an outsider may not read it" test "$(req GET /v1/teams/team-a/namespaces/staging/web "$PO")" = 403
check "an unknown namespace is a 404 to a member" test "$(req GET /v1/teams/team-a/namespaces/staging/nope "$BOB")" = 404

# ---- every new route: no token 401, a role without a rule 403, the admin (table-driven) ----
# METHOD PATH BODY WANT (with the admin token); rows run in order, so creates come before deletes
while read -r m p b want; do
	[ "$b" = "-" ] && b=""
	c=$(req "$m" "$p" - "$b"); [ "$c" = 401 ] && ok "$m $p without a token: 401" || fail "$m $p without a token: $c"
	grep -qi '^WWW-Authenticate: Bearer' "$T/resp.h" || fail "$m $p: 401 without WWW-Authenticate"
	c=$(req "$m" "$p" "$GUEST" "$b"); [ "$c" = 403 ] && ok "$m $p as guest: 403" || fail "$m $p as guest: $c"
	grep -q '"status":403' "$T/resp" || fail "$m $p: 403 is not a problem document"
	c=$(req "$m" "$p" "$ADMIN" "$b"); [ "$c" = "$want" ] && ok "$m $p as admin: $want" || { fail "$m $p as admin: $c"; cat "$T/resp"; }
done <<'EOF2'
GET /v1/environments - 200
POST /v1/environments {"name":"tmp"} 201
GET /v1/environments/tmp - 200
PUT /v1/environments/tmp {"description":"scratch"} 200
GET /v1/teams - 200
POST /v1/teams {"name":"team-t"} 201
GET /v1/teams/team-t - 200
PUT /v1/teams/team-t {"description":"scratch"} 200
POST /v1/teams/team-t/namespaces {"environment":"tmp","name":"ns"} 201
GET /v1/teams/team-t/namespaces - 200
GET /v1/teams/team-t/namespaces/tmp/ns - 200
PUT /v1/teams/team-t/namespaces/tmp/ns {"quota":{"services":1}} 200
DELETE /v1/teams/team-t/namespaces/tmp/ns - 200
DELETE /v1/teams/team-t - 200
DELETE /v1/environments/tmp - 200
EOF2

# deleting what namespaces use is refused
check "an environment with namespaces may not be deleted" test "$(req DELETE /v1/environments/staging "$ADMIN")" = 409
expect_in "naming them" "team-a/staging/web" "$T/resp"
check "nor a team with namespaces" test "$(req DELETE /v1/teams/team-a "$ADMIN")" = 409

# ---- quotas: projects deploying into team-a/web in staging ----
# p1: two Services of 500m and 256Mi each (the quota: 2 services, 1 CPU, 512Mi)
svc() { # FILE NAME CPU MEMORY
	cat >>"$1" <<YAML
---
apiVersion: service/v1
kind: Service
metadata: {name: $2}
spec:
  command: [sleep, "300"]
  resources: {cpu: "$3", memory: $4}
YAML
}
for p in p1 p2 p3; do
	demo_core "$T/$p/m.yaml"
	sed -i "s/name: demo/name: $p/" "$T/$p/m.yaml"
	sed -i 's/^  systems: \[local\]$/  systems: [local]\n  namespace: team-a\/web/' "$T/$p/m.yaml"
done
svc "$T/p1/m.yaml" web 500m 256Mi
svc "$T/p1/m.yaml" worker 0.5 256Mi
svc "$T/p2/m.yaml" api 1 128Mi
sed -i 's/namespace: team-a\/web/namespace: team-a\/other/' "$T/p3/m.yaml"
svc "$T/p3/m.yaml" api 4 8Gi
for p in p1 p2 p3; do req POST /v1/projects "$ADMIN" "{\"name\":\"$p\",\"path\":\"$T/$p\"}" >/dev/null; done
check "p1 plans within the quota" test "$(req POST /v1/projects/p1/plans "$ADMIN" '{"env":"staging"}')" = 200
check "p1 deploys" test "$(req POST /v1/projects/p1/deployments "$ADMIN" '{"env":"staging"}')" = 202
ID=$(jq_py 'd["id"]' <"$T/resp")
done_result() { req GET "/v1/deployments/$ID" "$ADMIN" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" != running ] && [ "$r" != None ]; }
check "the deployment finishes" wait_for 60 done_result
check "it succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
cleanup_p1() { "$CRATIS" destroy --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} -f "$T/p1" --auto-approve >/dev/null 2>&1; }
cleanup_hooks="cleanup_p1 $cleanup_hooks"

check "p2 would exceed the quota: the plan is a 422" test "$(req POST /v1/projects/p2/plans "$ADMIN" '{"env":"staging"}')" = 422
expect_in "naming the namespace, the quota and the services" "namespace team-a/staging/web: services 3 would exceed quota 2" "$T/resp"
expect_in "and the CPU" "namespace team-a/staging/web: cpu 2 would exceed quota 1" "$T/resp"
check "located at the Environment's spec.namespace" test "$(jq_py '[[x["file"].endswith("p2/m.yaml"), x["field"]] for x in d["diagnostics"]][0]' <"$T/resp")" = '[true, "spec.namespace"]'
check "a deployment of p2 is refused too" test "$(req POST /v1/projects/p2/deployments "$ADMIN" '{"env":"staging"}')" = 422
expect_in "with the same diagnostic" "services 3 would exceed quota 2" "$T/resp"
"$CRATIS" plan --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} -f "$T/p2" --env staging >"$T/plan.out" 2>&1
expect_rc "cratis plan refuses it" 1 $?
expect_in "with the diagnostic located" "m.yaml:10:14: spec.namespace: namespace team-a/staging/web: services 3 would exceed quota 2" "$T/plan.out"
expect_in "and the memory" "memory 640Mi would exceed quota 512Mi" "$T/plan.out"
check "a namespace without a record has no quota" test "$(req POST /v1/projects/p3/plans "$ADMIN" '{"env":"staging"}')" = 200
check "p1 may still plan (nothing grows)" test "$(req POST /v1/projects/p1/plans "$ADMIN" '{"env":"staging"}')" = 200

# the owner raises the quota: p2 fits
req GET /v1/teams/team-a/namespaces/staging/web "$ALICE" >/dev/null
REV=$(jq_py 'd["revision"]' <"$T/resp")
check "the owner raises the quota (If-Match)" test "$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT -H "Authorization: Bearer $ALICE" -H "If-Match: \"$REV\"" --data '{"quota":{"cpu":"2","memory":"1Gi","services":3}}' "$URL/v1/teams/team-a/namespaces/staging/web")" = 200
check "p2 plans now" test "$(req POST /v1/projects/p2/plans "$ADMIN" '{"env":"staging"}')" = 200
expect_in "with a note of what the namespace would use" '"severity":"note","status":"CRATIS_OK","file":"'"$T/p2/m.yaml"'","line":10,"column":14,"field":"spec.namespace","message":"namespace team-a/staging/web after this plan: services 3 of 3, cpu 2 of 2, memory 640Mi of 1Gi"' "$T/resp"
"$CRATIS" plan -v --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} -f "$T/p2" --env staging >"$T/plan2.out" 2>&1
expect_rc "and cratis plan agrees" 0 $?
expect_in "-v shows the note" "note: $T/p2/m.yaml:10:14: spec.namespace: namespace team-a/staging/web after this plan: services 3 of 3" "$T/plan2.out"
# a Rollout counts its releases: a new one (1500m) beside p1 (1 CPU) is over the 2 CPUs
mkdir -p "$T/p4"
demo_core "$T/p4/m.yaml"
sed -i 's/name: demo/name: p4/; s/^  systems: \[local\]$/  systems: [local]\n  namespace: team-a\/web/' "$T/p4/m.yaml"
cat >>"$T/p4/m.yaml" <<'YAML'
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: site}
spec:
  activePort: 1
  previewPort: 2
  template:
    command: [sleep, "300"]
    resources: {cpu: 1500m, memory: 64Mi}
YAML
"$CRATIS" plan --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} -f "$T/p4" --env staging >"$T/plan4.out" 2>&1
expect_rc "a Rollout's new release over the CPU quota is refused" 1 $?
expect_in "counting its release" "namespace team-a/staging/web: cpu 2500m would exceed quota 2" "$T/plan4.out"
expect_not_in "its one release fits the services" "services" "$T/plan4.out"
# a malformed request in a manifest is refused at plan time, located
sed -i 's/cpu: "1"/cpu: "1 core"/' "$T/p2/m.yaml"
"$CRATIS" plan --state-dir "$S" ${STATE_URL:+--state "$STATE_URL"} -f "$T/p2" --env staging >"$T/plan3.out" 2>&1
expect_rc "a malformed cpu request is refused" 1 $?
expect_in "located at its field" "spec.resources.cpu: invalid quantity '1 core'" "$T/plan3.out"
"$CRATIS" validate -f "$T/p2" >"$T/val.out" 2>&1
expect_rc "cratis validate refuses it too (offline)" 1 $?
expect_in "located" "spec.resources.cpu: invalid quantity '1 core'" "$T/val.out"
sed -i 's/namespace: team-a\/other/namespace: Team_A/' "$T/p3/m.yaml"
"$CRATIS" validate -f "$T/p3" >"$T/val3.out" 2>&1
expect_rc "a malformed spec.namespace is refused by validate" 1 $?
expect_in "saying what is expected" "m.yaml:10:14: spec.namespace: expected TEAM/NAMESPACE (two DNS labels: team-a/web), got 'Team_A'" "$T/val3.out"

# a quota lowered below what the namespace holds: what does not grow still plans (ResourceQuota)
check "the owner lowers the quota (no If-Match)" test "$(req PUT /v1/teams/team-a/namespaces/staging/web "$ALICE" '{"quota":{"services":1}}')" = 200
check "p1 still plans: it does not grow" test "$(req POST /v1/projects/p1/plans "$ADMIN" '{"env":"staging"}')" = 200
cp "$T/p1/m.yaml" "$T/p1.saved"
svc "$T/p1/m.yaml" extra 100m 64Mi
check "one more Service in p1 is refused" test "$(req POST /v1/projects/p1/plans "$ADMIN" '{"env":"staging"}')" = 422
expect_in "services 3 of a quota of 1" "namespace team-a/staging/web: services 3 would exceed quota 1" "$T/resp"
cp "$T/p1.saved" "$T/p1/m.yaml"

# ---- events: every change, in the outbox ----
check "events" test "$(req GET '/v1/events?type=dev.cratis.*' "$ADMIN")" = 200
jq_py '[e["type"] for e in d if e["type"].split(".")[2] in ("team", "namespace", "environment")]' <"$T/resp" >"$T/types"
for t in environment.created environment.updated environment.deleted team.created team.updated team.deleted namespace.created namespace.updated namespace.deleted; do
	expect_in "dev.cratis.$t is in the outbox" "dev.cratis.$t" "$T/types"
done
check "team.created names the actor and the members" test "$(jq_py '[[e["source"], e["subject"], e["data"]["actor"]["subject"], len(e["data"]["members"])] for e in d if e["type"]=="dev.cratis.team.created"][0]' <"$T/resp")" = '["/teams/team-a", "team-a", "alice", 2]'
check "namespace.updated carries each new quota" test "$(jq_py '[e["data"]["quota"]["services"] for e in d if e["type"]=="dev.cratis.namespace.updated" and e["subject"]=="staging/web"]' <"$T/resp")" = "[3, 1]"
check "a failed change wrote no event (one environment.created per name)" test "$(jq_py 'len([e for e in d if e["type"]=="dev.cratis.environment.created" and e["subject"]=="staging"])' <"$T/resp")" = 1

# the records survive a restart
stop_server TERM
check "serve starts again" start_server "$S" "$LOG" --policy "$T/policy.csv" "$@"
check "team-a is still there" test "$(req GET /v1/teams/team-a "$BOB")" = 200
check "at revision 2" test "$(jq_py 'd["revision"]' <"$T/resp")" = 2
cleanup_p1
[ -z "$STATE_URL" ] || check "on PostgreSQL: no SQLite state was written" test ! -e "$S/state.db"
check "no sleep is left behind" test -z "$(own_procs 'sleep 300')"
finish
