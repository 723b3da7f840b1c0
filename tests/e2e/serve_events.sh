#!/bin/sh
# cratis serve, second slice (issue 14): the outbox over HTTP and the release routes, on SQLite.
# - GET /v1/events (since, type, limit) and the Server-Sent Events stream: an apply made through
#   the API shows up on a stream read with curl -N (ids ascend, the types appear, each data line
#   is the CloudEvents JSON with its seq); a reconnect with Last-Event-ID resumes right after that
#   id; heartbeats are comment lines; the stream ends cleanly when the server shuts down;
# - the server's dispatcher delivers the events to the Project's file sink without any CLI run;
# - examples/rollout deployed through the API, then promoted and rolled back through the API
#   (the public port answers v2, then v1 again), with the environment's history;
# - access: every new route answers 401 without a token and 403 for a role the policy does not
#   allow (table-driven), and the policy's rollout actions are told apart.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
S="$T/srv"
P="$T/proj"
mkdir -p "$P"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  events:
    sinks:
      - {name: audit, type: file, path: "$T/audit.ndjson"}
---
apiVersion: exec/v1
kind: Task
metadata: {name: a}
spec:
  apply: [sh, -c, 'echo a >"$T/a.ran"']
---
apiVersion: exec/v1
kind: Task
metadata: {name: b}
spec:
  apply: [sh, -c, 'echo b >"$T/b.ran"']
  dependsOn: [Task/a]
YAML
echo 1.2.3 >"$P/VERSION"
git init -q "$P"
# examples/rollout, its version in the manifest (the server's environment is fixed), ports free
R="$T/shop"
cp -r "$SRC/examples/rollout" "$R"
rm -rf "$R/.cratis"
sed -i 's/version: "\${env:APP_VERSION:-v1}"/version: "v1"/' "$R/shop.yaml"
grep -q 'version: "v1"' "$R/shop.yaml" || fail "the rollout example's version line changed"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
PUB="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"

ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
READER=$("$CRATIS" token create --state-dir "$S" --subject viewer --role readonly 2>/dev/null)
GUEST=$("$CRATIS" token create --state-dir "$S" --subject mallory --role guest 2>/dev/null)
DEPLOYER=$("$CRATIS" token create --state-dir "$S" --subject ci --role deployer 2>/dev/null)
cat >"$T/policy.csv" <<'CSV'
p, role:deployer, *, get, *, allow
p, role:deployer, rollouts, promote, staging/*, allow
p, role:deployer, events, get, *, deny
CSV

LOG="$T/serve.log"
check "serve starts" start_server "$S" "$LOG" --policy "$T/policy.csv"
stop_all() {
	"$CRATIS" destroy --state-dir "$S" -f "$R" --auto-approve >/dev/null 2>&1
	[ -n "${SSE_PID:-}" ] && kill "$SSE_PID" 2>/dev/null
	stop_server KILL
	return 0
}
cleanup_hooks="stop_all $cleanup_hooks"
check "register demo" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"demo\",\"path\":\"$P\"}")" = 201
check "register shop" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"shop\",\"path\":\"$R\"}")" = 201

# the OpenAPI document still documents exactly the routes
req GET / - >/dev/null; cp "$T/resp" "$T/index.json"
req GET /v1/openapi.json - >/dev/null; cp "$T/resp" "$T/openapi.json"
python3 "$SRC/tests/server/openapi_check.py" "$T/openapi.json" "$T/index.json" >"$T/oa.out" 2>&1
check "the OpenAPI document documents exactly the routes" test $? = 0
sed 's/^/    /' "$T/oa.out"
for p in /v1/events /v1/events/stream /v1/projects/{project}/environments/{env}/history \
	/v1/projects/{project}/environments/{env}/rollouts/{name}/promote /v1/artifacts; do
	grep -qF "\"$p\"" "$T/index.json" && ok "route $p" || fail "route $p is missing"
done

# sse_start FILE [CURL ARGS...]: read the stream into FILE in the background (SSE_PID); wait
# until the server's first comment arrived
sse_start() {
	_f=$1; shift
	: >"$_f"
	curl -sN -H "Authorization: Bearer $ADMIN" "$@" >"$_f" 2>/dev/null &
	SSE_PID=$!
	wait_for 20 grep -q '^: cratis events after seq' "$_f"
}
# sse_ids FILE: the ids of FILE, one a line
sse_ids() { sed -n 's/^id: //p' "$1"; }

# ---- the stream shows an apply made through the API ----
check "a stream opens (from now on)" sse_start "$T/sse1" "$URL/v1/events/stream"
grep -q '^retry: ' "$T/sse1" && ok "the stream tells the client how soon to reconnect" || fail "no retry: line"
check "deploy through the API" test "$(req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}')" = 202
ID=$(jq_py 'd["id"]' <"$T/resp")
check "the stream shows the deployment finish" wait_for 60 grep -q '^event: dev.cratis.deployment.finished' "$T/sse1"
kill "$SSE_PID" 2>/dev/null; wait "$SSE_PID" 2>/dev/null; SSE_PID=
sse_ids "$T/sse1" >"$T/ids1"
check "events arrived" test "$(wc -l <"$T/ids1")" -ge 5
check "ids ascend" sh -c "sort -n -c '$T/ids1'"
check "ids are unique" test "$(sort -u "$T/ids1" | wc -l)" = "$(wc -l <"$T/ids1")"
for t in deployment.started lock.taken resource.changed deployment.finished; do
	expect_in "the stream has dev.cratis.$t" "event: dev.cratis.$t" "$T/sse1"
done
python3 - "$T/sse1" "$ID" >"$T/sse1.check" 2>&1 <<'PY'
import json, sys
blocks = [b for b in open(sys.argv[1]).read().split("\n\n") if b.strip()]
evs = []
for b in blocks:
    f = {}
    for line in b.split("\n"):
        if line.startswith(":") or not line:
            continue
        k, _, v = line.partition(": ")
        f[k] = v
    if "data" in f:
        d = json.loads(f["data"])
        assert d["specversion"] == "1.0", d
        assert str(d["seq"]) == f["id"], (d["seq"], f["id"])
        assert d["type"] == f["event"], (d["type"], f["event"])
        evs.append(d)
dep = [e for e in evs if e["type"].startswith("dev.cratis.deployment.")]
assert [e["data"]["deployment"] for e in dep] == [int(sys.argv[2])] * 2, dep
assert [e["type"] for e in dep] == ["dev.cratis.deployment.started", "dev.cratis.deployment.finished"]
assert dep[1]["data"]["result"] == "succeeded"
subjects = [e.get("subject") for e in evs if e["type"] == "dev.cratis.resource.changed"]
assert subjects == ["Task/a", "Task/b"], subjects
print("ok")
PY
check "each data line is the event's CloudEvents JSON with id = seq, event = type, in order" grep -qx ok "$T/sse1.check"
sed 's/^/    /' "$T/sse1.check" | grep -v '^    ok$'

# the list route agrees
check "GET /v1/events" test "$(req GET '/v1/events?since=0' "$READER")" = 200
check "lists the same seqs" test "$(jq_py '" ".join(str(e["seq"]) for e in d)' <"$T/resp")" = "$(tr '\n' ' ' <"$T/ids1" | sed 's/ $//')"
req GET '/v1/events?since=0&type=dev.cratis.deployment.*' "$READER" >/dev/null
check "type filters with a prefix" test "$(jq_py '[e["type"] for e in d]' <"$T/resp")" = '["dev.cratis.deployment.started", "dev.cratis.deployment.finished"]'
req GET '/v1/events?since=0&limit=2' "$READER" >/dev/null
check "limit bounds the page" test "$(jq_py 'len(d)' <"$T/resp")" = 2
check "a bad since is a 400" test "$(req GET '/v1/events?since=yesterday' "$READER")" = 400
expect_in "naming the parameter" '"field":"since"' "$T/resp"
check "a bad limit is a 400" test "$(req GET '/v1/events?limit=0' "$READER")" = 400

# ---- reconnecting with Last-Event-ID resumes right after that id ----
MID=$(sed -n 2p "$T/ids1")
curl -sN --max-time 3 -H "Authorization: Bearer $ADMIN" -H "Last-Event-ID: $MID" "$URL/v1/events/stream" >"$T/sse2" 2>/dev/null
sse_ids "$T/sse2" >"$T/ids2"
check "the reconnect resumes after Last-Event-ID" test "$(tr '\n' ' ' <"$T/ids2")" = "$(sed -n '3,$p' "$T/ids1" | tr '\n' ' ')"
curl -sN --max-time 3 -H "Authorization: Bearer $ADMIN" "$URL/v1/events/stream?since=0&type=dev.cratis.resource.*" >"$T/sse3" 2>/dev/null
check "since=0 with a type: every resource event" test "$(grep -c '^event: dev.cratis.resource.changed' "$T/sse3")" = 2
expect_not_in "and no other type" "event: dev.cratis.deployment" "$T/sse3"
curl -sN --max-time 3 -H "Authorization: Bearer $ADMIN" "$URL/v1/events/stream?heartbeat=1" >"$T/sse4" 2>/dev/null
expect_in "a quiet stream sends heartbeat comments" ": heartbeat " "$T/sse4"
c=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" -H "Last-Event-ID: x" "$URL/v1/events/stream")
check "a bad Last-Event-ID is a 400" test "$c" = 400

# ---- the server's dispatcher delivers to the file sink (no CLI ran) ----
check "the dispatcher delivers every event to the file sink" wait_for 30 sh -c "test \"\$(wc -l <'$T/audit.ndjson' 2>/dev/null)\" -ge $(wc -l <"$T/ids1")"
python3 -c "import json,sys; print(' '.join(json.loads(l)['id'] for l in open(sys.argv[1])))" "$T/audit.ndjson" >"$T/sink.ids"
req GET '/v1/events?since=0' "$READER" >/dev/null
check "in outbox order, each once" test "$(cat "$T/sink.ids")" = "$(jq_py '" ".join(e["id"] for e in d)' <"$T/resp")"
req GET /metrics - >/dev/null
expect_in "metrics count the delivered events" "cratis_events_delivered_total $(wc -l <"$T/ids1" | tr -d ' ')" "$T/resp"

# ---- a rollout through the API ----
check "shop v1 is deployed" test "$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')" = 202
SID=$(jq_py 'd["id"]' <"$T/resp")
dep_done() { req GET "/v1/deployments/$1" "$READER" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" != running ] && [ "$r" != None ]; }
check "v1 finishes" wait_for 120 dep_done "$SID"
check "v1 succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
check "the public port answers v1" test "$(curl -s --max-time 5 "$PUB")" = "<h1>shop v1</h1>"
req GET /v1/projects/shop/environments/staging/rollouts/web "$READER" >/dev/null
R1=$(jq_py '[r["release"] for r in d["releases"] if r["status"]=="active"][0]' <"$T/resp")
sed -i 's/version: "v1"/version: "v2"/; s/autoPromotion: true/autoPromotion: false/' "$R/shop.yaml"
check "shop v2 is deployed" test "$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')" = 202
SID2=$(jq_py 'd["id"]' <"$T/resp")
check "v2 finishes (in preview)" wait_for 120 dep_done "$SID2"
check "v2's deployment succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
check "the public port still answers v1" test "$(curl -s --max-time 5 "$PUB")" = "<h1>shop v1</h1>"
RO=/v1/projects/shop/environments/staging/rollouts/web
check "rollout status" test "$(req GET "$RO" "$READER")" = 200
check "two releases, the live one first seen as active" test "$(jq_py 'sorted(r["status"] for r in d["releases"])' <"$T/resp")" = '["active", "preview"]'
check "the deployer may not roll back" test "$(req POST "$RO/rollback" "$DEPLOYER")" = 403
check "the deployer promotes: accepted (202)" test "$(req POST "$RO/promote" "$DEPLOYER")" = 202
check "the reply says what was done" test "$(jq_py 'd["action"]' <"$T/resp")" = promote
PRID=$(jq_py 'd["id"]' <"$T/resp")
check "with the deployment id" test "$PRID" -gt "$SID2"
expect_in "and its Location" "Location: /v1/deployments/$PRID" "$T/resp.h"
check "the promote finishes on its worker" wait_for 120 dep_done "$PRID"
check "the promote succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
req GET "/v1/events?since=0&type=dev.cratis.deployment.*" "$READER" >/dev/null
check "its progress is on the event stream (started, finished)" test "$(jq_py '[e["type"][22:] for e in d if e["data"]["deployment"]=='"$PRID"']' <"$T/resp")" = '["started", "finished"]'
check "the public port answers v2 after promote" test "$(curl -s --max-time 5 "$PUB")" = "<h1>shop v2</h1>"
check "the admin rolls back, ?wait=true: answered when done" test "$(req POST "$RO/rollback?wait=true" "$ADMIN" '{}')" = 200
check "the public port answers v1 after rollback" test "$(curl -s --max-time 5 "$PUB")" = "<h1>shop v1</h1>"
check "the live release is the first again" test "$(jq_py '[r["release"] for r in d["releases"] if r["status"]=="active"]' <"$T/resp")" = "[\"$R1\"]"
check "nothing in preview to abort, ?wait=true: 404" test "$(req POST "$RO/abort?wait=true" "$ADMIN")" = 404
expect_in "saying so" "no release in preview to abort" "$T/resp"
check "without wait the abort is accepted (202)" test "$(req POST "$RO/abort" "$ADMIN")" = 202
ABID=$(jq_py 'd["id"]' <"$T/resp")
check "and recorded as a failed deployment" wait_for 60 dep_done "$ABID"
check "failed" test "$(jq_py 'd["result"]' <"$T/resp")" = failed
expect_in "saying why" "no release in preview to abort" "$T/resp"
sed -i 's/version: "v2"/version: "v3"/' "$R/shop.yaml"
check "shop v3 is deployed" test "$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')" = 202
SID3=$(jq_py 'd["id"]' <"$T/resp")
check "v3 finishes (in preview)" wait_for 120 dep_done "$SID3"
req GET "$RO" "$READER" >/dev/null
check "v3 waits in preview" test "$(jq_py 'len([r for r in d["releases"] if r["status"]=="preview"])' <"$T/resp")" = 1
check "the admin aborts it (202)" test "$(req POST "$RO/abort" "$ADMIN")" = 202
ABID=$(jq_py 'd["id"]' <"$T/resp")
check "the abort finishes" wait_for 60 dep_done "$ABID"
check "the abort succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
req GET "$RO" "$READER" >/dev/null
check "nothing is in preview afterwards" test "$(jq_py 'len([r for r in d["releases"] if r["status"]=="preview"])' <"$T/resp")" = 0
check "the public port still answers v1" test "$(curl -s --max-time 5 "$PUB")" = "<h1>shop v1</h1>"
check "rollout history" test "$(req GET "$RO/history" "$READER")" = 200
check "a rollout that does not exist is a 404" test "$(req GET /v1/projects/shop/environments/staging/rollouts/nope "$READER")" = 404
check "history of the environment" test "$(req GET /v1/projects/shop/environments/staging/history "$READER")" = 200
check "lists both shop deployments, newest first" test "$(jq_py '[x["id"] for x in d if x["id"] in ('"$SID"','"$SID2"')]' <"$T/resp")" = "[$SID2, $SID]"
check "history of an unknown environment is a 404" test "$(req GET /v1/projects/shop/environments/prod/history "$READER")" = 404
check "artifacts" test "$(req GET /v1/artifacts "$READER")" = 200
check "the version of a project" test "$(req GET /v1/projects/demo/version "$READER")" = 200
check "read from its VERSION file, with the policy's verdict" test "$(jq_py '[d["version"], d["source"].endswith("/VERSION"), d["ok"]]' <"$T/resp")" = '["1.2.3", true, true]'
check "a project without a version source is a 404" test "$(req GET /v1/projects/shop/version "$READER")" = 404
expect_in "saying where it looked" "no version source" "$T/resp"
req GET '/v1/events?since=0&type=dev.cratis.rollout.*' "$READER" >/dev/null
echo "    rollout events: $(jq_py '[e["type"] for e in d]' <"$T/resp")"

# ---- access: every new route (table-driven) ----
# METHOD PATH: 401 without a token, 403 for the guest role
while read -r m p; do
	c=$(curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' --max-time 5 -X "$m" "$URL$p")
	[ "$c" = 401 ] && ok "$m $p without a token: 401" || fail "$m $p without a token: $c"
	grep -qi '^WWW-Authenticate: Bearer' "$T/resp.h" || fail "$m $p: 401 without WWW-Authenticate"
	c=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 5 -X "$m" -H "Authorization: Bearer $GUEST" "$URL$p")
	[ "$c" = 403 ] && ok "$m $p as guest: 403" || fail "$m $p as guest: $c"
	grep -q '"status":403' "$T/resp" || fail "$m $p: 403 is not a problem document"
done <<EOF
GET /v1/events
GET /v1/events/stream
GET /v1/projects/shop/environments/staging/history
GET $RO
GET $RO/history
POST $RO/promote
POST $RO/rollback
POST $RO/abort
GET /v1/artifacts
GET /v1/projects/demo/version
EOF
check "a deny rule keeps the deployer off the events" test "$(req GET /v1/events "$DEPLOYER")" = 403
c=$(curl -s -o "$T/resp" -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $DEPLOYER" "$URL/v1/events/stream")
check "and off the stream" test "$c" = 403
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $READER" "$URL/v1/events/stream")
check "readonly may read the stream (200)" test "$c" = 200
expect_in "denials are logged" "denied ci (role:deployer): rollback rollouts staging/shop" "$LOG"

# ---- the stream ends cleanly on shutdown ----
check "a stream is open" sse_start "$T/sse5" "$URL/v1/events/stream"
SSE=$SSE_PID; SSE_PID=
stop_server TERM
expect_rc "serve exits 0 with a stream open" 0 "$SERVER_RC"
wait "$SSE"
expect_rc "the client sees the stream end cleanly (curl 0)" 0 $?
"$CRATIS" destroy --state-dir "$S" -f "$R" --auto-approve >/dev/null 2>&1
expect_rc "the rollout is destroyed" 0 $?
finish
