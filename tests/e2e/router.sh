#!/bin/sh
# The router plugin with a real nginx on loopback: cratis' own instance (prefix, config, pid under
# .cratis), active and preview upstreams, a switch applied by graceful reload (same master, no
# failed request under load, every response from v1 or v2), drift when nginx dies, and destroy.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P/v1" "$P/v2"
echo v1 >"$P/v1/index.html"
echo v2 >"$P/v2/index.html"
PUB=$(free_port); PRE=$(free_port); B1=$(free_port); B2=$(free_port)
python3 -m http.server "$B1" --bind 127.0.0.1 --directory "$P/v1" >/dev/null 2>&1 &
python3 -m http.server "$B2" --bind 127.0.0.1 --directory "$P/v2" >/dev/null 2>&1 &
stop_all() {
	pkill -f "http[.]server $B1" 2>/dev/null
	pkill -f "http[.]server $B2" 2>/dev/null
	[ -f "$P/.cratis/run/_/default/Route-web/nginx.pid" ] && kill "$(cat "$P/.cratis/run/_/default/Route-web/nginx.pid")" 2>/dev/null
	return 0
}
cleanup_hooks="stop_all"
wait_for 10 curl -sf "http://127.0.0.1:$B1/"
wait_for 10 curl -sf "http://127.0.0.1:$B2/"
route() { # ACTIVE PREVIEW
	cat >"$P/route.yaml" <<YAML
apiVersion: router/v1
kind: Route
metadata: {name: web}
spec:
  listen: 127.0.0.1:$PUB
  upstream: 127.0.0.1:$1
  preview: {listen: $PRE, upstream: $2}
YAML
}
route "$B1" "$B2"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "apply starts cratis' nginx" 0 $?
expect_rc "public answers v1" v1 "$(curl -s "http://127.0.0.1:$PUB/")"
expect_rc "preview answers v2" v2 "$(curl -s "http://127.0.0.1:$PRE/")"
D="$P/.cratis/run/_/default/Route-web"
check "its configuration lives under .cratis" test -f "$D/nginx.conf"
master=$(cat "$D/nginx.pid")
"$CRATIS" state show Route/web -f "$P" >"$T/show" 2>&1
expect_in "outputs carry the public URL" "\"url\": \"http://127.0.0.1:$PUB/\"" "$T/show"

# switch under load: graceful reload, no failed request
python3 "$(dirname "$0")/load.py" "http://127.0.0.1:$PUB/" 4 2 >"$T/load.json" &
lpid=$!
sleep 1
route "$B2" "$B1"
"$CRATIS" plan -f "$P" >"$T/plan" 2>&1
expect_in "plan shows the upstream change" "Route/web                        update (spec.upstream, spec.preview.upstream)" "$T/plan"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "switch applied" 0 $?
expect_rc "public answers v2 at once" v2 "$(curl -s "http://127.0.0.1:$PUB/")"
expect_rc "preview answers v1" v1 "$(curl -s "http://127.0.0.1:$PRE/")"
expect_rc "same nginx master: a reload, not a restart" "$master" "$(cat "$D/nginx.pid")"
sleep 1
route "$B1" "$B2"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "switch back" v1 "$(curl -s "http://127.0.0.1:$PUB/")"
wait "$lpid"
check "the load ran" grep -q '"total": [1-9]' "$T/load.json"
expect_in "no failed request during two switches" '"failed": 0' "$T/load.json"
check "every response came from v1 or v2" python3 -c "import json,sys; b=json.load(open('$T/load.json'))['bodies']; sys.exit(0 if set(b) <= {'v1','v2'} and len(b) == 2 else 1)"
cat "$T/load.json"

# invalid spec: refused before anything runs, the running nginx untouched
sed -i "s/upstream: 127.0.0.1:$B1/upstream: not-an-address/" "$P/route.yaml"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/bad.err"
expect_rc "invalid upstream refused" 1 $?
expect_in "names the field" "route.yaml:6:13: spec.upstream: Route/web: plugin 'router': expected the backend address as HOST:PORT" "$T/bad.err"
expect_rc "still serving" v1 "$(curl -s "http://127.0.0.1:$PUB/")"
route "$B1" "$B2"

# drift: nginx killed -> plan sees it, apply restarts it
kill "$(cat "$D/nginx.pid")"
wait_for 5 sh -c "! curl -s http://127.0.0.1:$PUB/ >/dev/null"
"$CRATIS" plan -f "$P" >"$T/plan2" 2>&1
expect_in "dead nginx is drift" "Route/web                        update [drift: nginx is not running]" "$T/plan2"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "apply restarts it" v1 "$(curl -s "http://127.0.0.1:$PUB/")"

# a listen port another program holds: nginx keeps its old configuration on the reload, and the
# apply fails naming the holder instead of reporting success (issue 9, item 18)
HOLD=$(free_port)
python3 -m http.server "$HOLD" --bind 127.0.0.1 >/dev/null 2>&1 &
hold=$!
wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$HOLD/"
sed -i "s/preview: {listen: $PRE,/preview: {listen: $HOLD,/" "$P/route.yaml"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/held.err"
expect_rc "a preview port held by another program fails the apply" 1 $?
expect_in "the holder is named" "does not listen on 127.0.0.1:$HOLD: it is held by process $hold (" "$T/held.err"
expect_rc "public still answers" v1 "$(curl -s "http://127.0.0.1:$PUB/")"
kill "$hold"
route "$B1" "$B2"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "back on its own ports" v2 "$(curl -s "http://127.0.0.1:$PRE/")"

"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "nginx stopped" sh -c "! curl -s http://127.0.0.1:$PUB/ >/dev/null"
check "no nginx of this route left" sh -c "! pgrep -f 'nginx[:] master process .*$P' >/dev/null"
finish
