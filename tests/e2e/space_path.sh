#!/bin/sh
# Route and Rollout from a project directory whose path holds a space (issue 9, item 5): every
# path cratis writes into nginx.conf is quoted per nginx's syntax, so nginx starts, the route
# answers, an unchanged spec shows no drift, and destroy stops it. nginx and backends on loopback.
. "$(dirname "$0")/lib.sh"
P="$T/my project"
mkdir -p "$P/v1"
echo v1 >"$P/v1/index.html"
PUB=$(free_port); B1=$(free_port)
python3 -m http.server "$B1" --bind 127.0.0.1 --directory "$P/v1" >/dev/null 2>&1 &
S="$T/my shop"
cp -r "$SRC/examples/rollout" "$S"
rm -rf "$S/.cratis"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
stop_all() {
	pkill -f "http[.]server $B1" 2>/dev/null
	"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
	"$CRATIS" destroy -f "$S" --auto-approve >/dev/null 2>&1
	return 0
}
cleanup_hooks="stop_all"
wait_for 10 curl -sf "http://127.0.0.1:$B1/"
cat >"$P/route.yaml" <<YAML
apiVersion: router/v1
kind: Route
metadata: {name: web}
spec:
  listen: 127.0.0.1:$PUB
  upstream: 127.0.0.1:$B1
YAML
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a1.err"
rc=$?
expect_rc "a Route applies from a path with a space" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/    /' "$T/a1.err"
expect_rc "the route answers" v1 "$(curl -s --max-time 5 "http://127.0.0.1:$PUB/")"
D="$P/.cratis/run/_/default/Route-web"
expect_in "the pid path is one quoted token" "pid \"$D/nginx.pid\";" "$D/nginx.conf"
"$CRATIS" plan -f "$P" >"$T/plan" 2>&1
expect_rc "plan after apply" 0 $?
expect_in "no drift: the rendered configuration reads back the same" "Route/web                        no-op" "$T/plan"
"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "nginx stopped" sh -c "! curl -s --max-time 2 http://127.0.0.1:$PUB/ >/dev/null"

APP_VERSION=v1 "$CRATIS" apply -f "$S" --auto-approve >/dev/null 2>"$T/r1.err"
rc=$?
expect_rc "a Rollout applies from a path with a space" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/    /' "$T/r1.err"
expect_rc "the rollout's public address answers v1" "<h1>shop v1</h1>" "$(curl -s --max-time 5 "http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/")"
"$CRATIS" destroy -f "$S" --auto-approve >/dev/null 2>&1
expect_rc "rollout destroy" 0 $?
finish
