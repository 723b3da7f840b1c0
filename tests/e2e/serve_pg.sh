#!/bin/sh
# cratis serve on PostgreSQL state (issue 14): plan and apply through the API against a
# postgres:// store, the deployment listed with its steps; /readyz fails (503, the state check
# named) while the database is stopped and recovers once it is back, and the API answers again.
# Two servers on the one store share the projects and tokens (records of the store): the tokens
# and projects files of earlier versions are imported once at start (renamed .imported), a token
# created or revoked through one store works or stops working on both, a project registered on
# one is listed and usable on the other, and its name cannot be taken again on the other.
# Runs under tests/pg/with-postgres.sh.
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGDIR="$CRATIS_TEST_PG_SOCKET"
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
pg_stop() { as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1; }
pg_start() {
	as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $CRATIS_TEST_PG_PORT -c unix_socket_directories=$PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null 2>&1
}
S="$T/srv"
P="$T/p"
mkdir -p "$P"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: mk}
spec:
  apply: [sh, -c, 'echo ran >"$T/ran"']
YAML
PGURL="$CRATIS_TEST_PG_URL?schema=e2e_serve"
ADMIN=$("$CRATIS" token create --state-dir "$S" --state "$PGURL" --subject root --role admin 2>/dev/null)
# files of an earlier version in the first server's state directory: a token and a project
OLDSECRET=1111111111111111111111111111111111111111111111111111111111111111
OLDHASH=$(printf 'salt:%s' "$OLDSECRET" | sha256sum | cut -d' ' -f1)
OLD="cratis_00000000000000aa_$OLDSECRET"
cat >"$S/tokens.json" <<JSON
{"tokens": [{"id": "00000000000000aa", "subject": "old", "role": "role:admin", "created": "2026-01-01T00:00:00Z",
  "expires": null, "expires_unix": 0, "salt": "salt", "sha256": "$OLDHASH"}]}
JSON
mkdir -p "$T/legacy"
demo_core "$T/legacy/m.yaml"
sed -i 's/name: demo/name: legacy/' "$T/legacy/m.yaml"
printf '{"projects": [{"name": "legacy", "path": "%s", "registered": "2026-01-01T00:00:00Z"}]}\n' "$T/legacy" >"$S/projects.json"
LOG="$T/serve.log"
check "serve starts on PostgreSQL state" start_server "$S" "$LOG" --state "$PGURL"
check "the old tokens file was imported" test -f "$S/tokens.json.imported" -a ! -f "$S/tokens.json"
check "the old projects file was imported" test -f "$S/projects.json.imported" -a ! -f "$S/projects.json"
expect_in "saying so" "imported 1 project from '$S/projects.json'" "$LOG"
server_cleanup() { stop_server KILL; }
cleanup_hooks="server_cleanup $cleanup_hooks"
check "readyz" test "$(req GET '/readyz?verbose' -)" = 200
check "register" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"demo\",\"path\":\"$P\"}")" = 201
check "plan" test "$(req POST /v1/projects/demo/plans "$ADMIN" '{"env":"staging"}')" = 200
check "deploy" test "$(req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}')" = 202
ID=$(jq_py 'd["id"]' <"$T/resp")
done_result() { req GET "/v1/deployments/$ID" "$ADMIN" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" != running ] && [ "$r" != None ]; }
check "the deployment finishes" wait_for 60 done_result
check "it succeeded, with its step" test "$(jq_py '[d["result"]] + [s["resource"] for s in d["steps"]]' <"$T/resp")" = '["succeeded", "Task/mk"]'
check "the Task ran" test -f "$T/ran"
"$PGBIN/psql" "$CRATIS_TEST_PG_URL" -qAt -c "SELECT count(*) FROM e2e_serve.deployments" >"$T/count" 2>&1
expect_in "the deployment is in PostgreSQL" "1" "$T/count"

pg_stop
check "readyz fails while the database is stopped" test "$(req GET /readyz -)" = 503
expect_in "naming the state check" '"name":"state","status":"failed"' "$T/resp"
check "the API says the state cannot be read" test "$(req GET /v1/deployments "$ADMIN")" = 500
expect_in "as a problem document" '"status":500' "$T/resp"
check "the server lives on" test "$(req GET /livez -)" = 200
pg_start
ready() { [ "$(req GET /readyz -)" = 200 ]; }
check "readyz recovers when the database is back" wait_for 60 ready
check "and the API answers again" test "$(req GET /v1/deployments "$ADMIN")" = 200
check "with the deployment" test "$(jq_py '[x["id"] for x in d]' <"$T/resp")" = "[$ID]"

# ---- a second server on the same store ----
S2="$T/srv2"
URL1=$URL PID1=$SERVER_PID
check "a second server starts on the same store" start_server "$S2" "$T/serve2.log" --state "$PGURL"
URL2=$URL PID2=$SERVER_PID
at() { URL=$1; shift; req "$@"; }
check "the second server knows the first's token" test "$(at "$URL2" GET /v1/projects "$ADMIN")" = 200
check "and lists the projects registered on the first (and imported)" test "$(jq_py '[p["name"] for p in d]' <"$T/resp")" = '["demo", "legacy"]'
check "the imported token works on the second" test "$(at "$URL2" GET /v1/deployments "$OLD")" = 200
check "the second plans a project registered on the first" test "$(at "$URL2" POST /v1/projects/demo/plans "$ADMIN" '{"env":"staging"}')" = 200
check "a project registered on the second" test "$(at "$URL2" POST /v1/projects "$ADMIN" "{\"name\":\"two\",\"path\":\"$P\"}")" = 201
check "cannot be registered again on the first" test "$(at "$URL1" POST /v1/projects "$ADMIN" "{\"name\":\"two\",\"path\":\"$T/legacy\"}")" = 409
check "and is listed there" test "$(at "$URL1" GET /v1/projects "$ADMIN")" = 200
check "with its path" test "$(jq_py '[p["path"] for p in d if p["name"]=="two"]' <"$T/resp")" = "[\"$P\"]"
NEW=$("$CRATIS" token create --state "$PGURL" --state-dir "$T/cli" --subject ci --role readonly 2>/dev/null)
check "a token created later works on both" test "$(at "$URL1" GET /v1/deployments "$NEW")$(at "$URL2" GET /v1/deployments "$NEW")" = 200200
"$CRATIS" token revoke --state "$PGURL" --state-dir "$T/cli" "$(echo "$NEW" | cut -d_ -f2)" 2>/dev/null
check "revoked through the store, it is refused by both at once" test "$(at "$URL1" GET /v1/deployments "$NEW")$(at "$URL2" GET /v1/deployments "$NEW")" = 401401
"$PGBIN/psql" "$CRATIS_TEST_PG_URL" -qAt -c "SELECT kind, count(*) FROM e2e_serve.records GROUP BY kind ORDER BY kind" >"$T/kinds" 2>&1
check "projects and tokens are records of the store" test "$(tr '\n' ' ' <"$T/kinds")" = "project|3 token|2 "
"$PGBIN/psql" "$CRATIS_TEST_PG_URL" -qAt -c "SELECT body FROM e2e_serve.records WHERE kind = 'token'" >"$T/bodies" 2>&1
expect_not_in "token records keep no secret" "$OLDSECRET" "$T/bodies"
expect_in "but the salted hash" '"sha256"' "$T/bodies"
SERVER_PID=$PID2; stop_server TERM
expect_rc "the second serve exits 0 after SIGTERM" 0 "$SERVER_RC"
SERVER_PID=$PID1; stop_server TERM
expect_rc "serve exits 0 after SIGTERM" 0 "$SERVER_RC"
finish
