#!/bin/sh
# cratis serve on PostgreSQL state (issue 14): plan and apply through the API against a
# postgres:// store, the deployment listed with its steps; /readyz fails (503, the state check
# named) while the database is stopped and recovers once it is back, and the API answers again.
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
ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
LOG="$T/serve.log"
check "serve starts on PostgreSQL state" start_server "$S" "$LOG" --state "$CRATIS_TEST_PG_URL?schema=e2e_serve"
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
stop_server TERM
expect_rc "serve exits 0 after SIGTERM" 0 "$SERVER_RC"
finish
