#!/bin/sh
# The Route's dealer (spec.split, issue 12) with a real nginx on loopback, through cratis apply:
# three variants weighted 1:1:2 behind one public address; 2,000 simulated users (each with its
# own cookie jar) are dealt within a chi-square bound, keep their variant, get the user-id cookie
# only when they have none; the pin header routes to the named variant; the access log (the
# format of src/experiment/metrics.h, read by the metrics provider) counts what the users saw; a
# weight change is a graceful reload with no failed request under load that keeps most users in
# place; invalid splits are refused at validate naming the field.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "nginx is not installed (scripts/setup.sh)"; exit 1; }
MR=${CRATIS_BUILD_DIR:-$SRC/build}/tests/metrics_read
USERS="$(dirname "$0")/split_users.py"
P="$T/p"; U="$T/up"
mkdir -p "$P" "$U/tmp"
PUB=$(free_port); PRE=$(free_port); BA=$(free_port); BB=$(free_port); BC=$(free_port)

# the three variants: one small nginx answering "variant NAME" on three ports
cat >"$U/nginx.conf" <<CONF
worker_processes 1;
pid $U/nginx.pid;
error_log $U/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $U/tmp/body; proxy_temp_path $U/tmp/proxy; fastcgi_temp_path $U/tmp/fcgi;
  uwsgi_temp_path $U/tmp/uwsgi; scgi_temp_path $U/tmp/scgi;
  server { listen 127.0.0.1:$BA; location / { return 200 "variant a\n"; } }
  server { listen 127.0.0.1:$BB; location / { return 200 "variant b\n"; } }
  server { listen 127.0.0.1:$BC; location / { return 200 "variant c\n"; } }
}
CONF
nginx -p "$U" -c "$U/nginx.conf" -e "$U/error.log" >"$T/up.out" 2>&1 || { cat "$T/up.out"; fail "the variants' nginx starts"; }
D="$P/.cratis/run/_/default/Route-web"
stop_all() {
	[ -f "$U/nginx.pid" ] && kill "$(cat "$U/nginx.pid")" 2>/dev/null
	[ -f "$D/nginx.pid" ] && kill "$(cat "$D/nginx.pid")" 2>/dev/null
	return 0
}
cleanup_hooks="stop_all"
wait_for 10 curl -sf "http://127.0.0.1:$BC/" || fail "the variants answer"

route() { # WEIGHT_A WEIGHT_B WEIGHT_C
	cat >"$P/route.yaml" <<YAML
apiVersion: router/v1
kind: Route
metadata: {name: web}
spec:
  listen: 127.0.0.1:$PUB
  preview: {listen: $PRE, upstream: $BB}
  split:
    key: checkout-1
    stickiness: cookie
    cookie: cratis_uid
    userHeader: X-User-Id
    pinHeader: X-Cratis-Variant
    variants:
      - {name: a, weight: $1, upstream: $BA}
      - {name: b, weight: $2, upstream: [$BB]}
      - {name: c, weight: $3, upstream: 127.0.0.1:$BC}
YAML
}
route 1 1 2
"$CRATIS" validate -f "$P" >"$T/v.out" 2>&1
expect_rc "a split without upstream validates" 0 $?
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "apply starts the dealer" 0 $?
sed 's/^/    /' "$T/a1.err"
master=$(cat "$D/nginx.pid")
check "split_clients with shares summing to 100%" grep -qzF '    split_clients "checkout-1$cratis_user" $cratis_split {
        25.00% a;
        25.00% b;
        * c;' "$D/nginx.conf"
"$MR" --log-format >"$T/format"
check "the log_format is metrics.h's METRICS_NGINX_LOG_FORMAT, verbatim" grep -qF "    $(cat "$T/format")" "$D/nginx.conf"
"$CRATIS" state show Route/web -f "$P" >"$T/show" 2>&1
expect_in "outputs carry the access log" "\"accessLog\": \"$D/access.log\"" "$T/show"
expect_in "outputs carry the public URL" "\"url\": \"http://127.0.0.1:$PUB/\"" "$T/show"
"$CRATIS" plan -f "$P" >"$T/plan0" 2>&1
expect_in "no drift after apply (observe renders the same configuration)" "0 to update" "$T/plan0"

# 2,000 users, each with its own cookie jar
python3 "$USERS" "$PUB" 0 2000 7 >"$T/users.json" 2>"$T/users.err"
expect_rc "2,000 simulated users" 0 $?
python3 - "$T/users.json" >"$T/dist.out" 2>&1 <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
weights = {"a": 1, "b": 1, "c": 2}
n = sum(d["users"].values())
chi2 = sum((d["users"].get(v, 0) - n * w / 4) ** 2 / (n * w / 4) for v, w in weights.items())
p = math.exp(-chi2 / 2)          # chi-square survival function with 2 degrees of freedom
print("users", n, "per variant", d["users"], "chi2 %.3f p %.4f" % (chi2, p))
print("violations", len(d["violations"]))
for v in d["violations"][:10]:
    print("  ", v)
ok = n == 2000 and set(d["users"]) == set(weights) and p > 0.001 and not d["violations"]
print("split ok" if ok else "split BAD")
sys.exit(0 if ok else 1)
PY
expect_rc "users split 1:1:2 within the chi-square bound (p > 0.001), sticky, Set-Cookie only without a cookie" 0 $?
sed 's/^/    /' "$T/dist.out"

# preview keeps working beside the dealer, and is not part of the experiment (not logged)
expect_rc "preview answers its upstream" "variant b" "$(curl -s "http://127.0.0.1:$PRE/")"
expect_in "outputs carry the preview URL" "\"previewUrl\": \"http://127.0.0.1:$PRE/\"" "$T/show"

# the access log counts what the users saw
cat >"$T/cfg.json" <<JSON
{"provider": "nginx", "path": "$D/access.log", "variants": ["a", "b", "c"],
 "metrics": [{"name": "visit", "kind": "ratio", "exposure": "/*", "conversion": "/buy", "status": "any"},
             {"name": "latency", "kind": "mean", "field": "request_time"}]}
JSON
"$MR" "$T/cfg.json" >"$T/got.json" 2>"$T/got.err"
expect_rc "the metrics provider reads the router's access log" 0 $?
expect_in "no bad lines" "bad 0," "$T/got.err"
python3 - "$T/users.json" "$T/got.json" >"$T/cmp.out" 2>&1 <<'PY'
import json, sys
saw, got = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = []
for v in got["variants"]:
    name = v["name"]
    pairs = [("users", v["users"], saw["users"][name]),
             ("exposed users", v["metrics"]["visit"]["exposures"], saw["users"][name]),
             ("requests", v["metrics"]["latency"]["n"], saw["requests"][name])]
    for what, a, b in pairs:
        print(name, what, "log", a, "users saw", b)
        if a != b:
            bad.append(f"{name} {what}")
print("BAD " + ", ".join(bad) if bad else "all equal")
sys.exit(1 if bad else 0)
PY
expect_rc "per-variant users and requests in the log equal what the users saw" 0 $?
sed 's/^/    /' "$T/cmp.out"
check "the log's users are the cookies the router set" python3 -c "
import json, sys
cookies = set(json.load(open('$T/users.json'))['cookies'].values())
users = {json.loads(l)['user'] for l in open('$D/access.log')}
sys.exit(0 if users == cookies and len(users) == 2000 else 1)"

# the pin header: to the named variant, whatever the cookie; an unknown name is ignored; pinned
# requests are not part of the experiment (not logged)
lines=$(wc -l <"$D/access.log")
for v in a b c; do
	expect_rc "pinned to $v" "variant $v" "$(curl -s -H "X-Cratis-Variant: $v" -H 'Cookie: cratis_uid=someone' "http://127.0.0.1:$PUB/")"
done
own=$(curl -s -H 'Cookie: cratis_uid=someone' "http://127.0.0.1:$PUB/")
expect_rc "an unknown pinned name is ignored" "$own" "$(curl -s -H 'X-Cratis-Variant: zz' -H 'Cookie: cratis_uid=someone' "http://127.0.0.1:$PUB/")"
expect_rc "pinned requests are not logged" $((lines + 2)) "$(wc -l <"$D/access.log")"
curl -s -D "$T/h1" -o /dev/null -H 'Cookie: cratis_uid=someone' "http://127.0.0.1:$PUB/"
curl -s -D "$T/h2" -o /dev/null "http://127.0.0.1:$PUB/"
expect_not_in "no Set-Cookie with a cookie" "Set-Cookie" "$T/h1"
expect_in "Set-Cookie without one" "Set-Cookie: cratis_uid=" "$T/h2"

# a weight change under load: graceful reload, 0 failed requests, most users stay in place
python3 "$(dirname "$0")/load.py" "http://127.0.0.1:$PUB/" 4 2 >"$T/load.json" &
lpid=$!
sleep 1
route 1 1 1
"$CRATIS" plan -f "$P" >"$T/plan1" 2>&1
expect_in "plan shows the weight change" "update (spec.split.variants" "$T/plan1"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "the weight change applies" 0 $?
expect_rc "same nginx master: a reload, not a restart" "$master" "$(cat "$D/nginx.pid")"
wait "$lpid"
check "the load ran" grep -q '"total": [1-9]' "$T/load.json"
expect_in "no failed request during the reload" '"failed": 0' "$T/load.json"
cat "$T/load.json"
check "new shares: 33.34/33.33/rest" grep -qzF '        33.34% a;
        33.33% b;
        * c;' "$D/nginx.conf"
python3 - "$T/users.json" "$PUB" >"$T/moved.out" 2>&1 <<'PY'
import json, sys, urllib.request
d, port = json.load(open(sys.argv[1])), sys.argv[2]
stay, moved = 0, {}
for uid, cookie in d["cookies"].items():
    r = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Cookie": f"cratis_uid={cookie}"})
    with urllib.request.urlopen(r, timeout=10) as resp:
        now = resp.read().decode().split()[-1]
    if now == d["variant_of"][uid]:
        stay += 1
    else:
        k = d["variant_of"][uid] + "->" + now
        moved[k] = moved.get(k, 0) + 1
# split_clients keeps the hash ranges in order: 1:1:2 -> 1:1:1 moves b's top third to a and
# c's lowest third to b, 25% of the users; nobody moves from a, or from c to a
print("stayed", stay, "of", len(d["cookies"]), "moved", moved)
ok = stay > 0.65 * len(d["cookies"]) and set(moved) <= {"b->a", "c->b"}
sys.exit(0 if ok else 1)
PY
expect_rc "users keep their cookie and most keep their variant (only b->a and c->b moves)" 0 $?
sed 's/^/    /' "$T/moved.out"

# invalid splits: refused at validate, naming the field; the running dealer untouched
bad() { # NAME SED-EXPRESSION NEEDLE
	route 1 1 2
	sed -i "$2" "$P/route.yaml"
	"$CRATIS" validate -f "$P" >"$T/bad.out" 2>&1
	expect_rc "$1: refused" 1 $?
	expect_in "$1: names the field" "$3" "$T/bad.out"
}
bad "weight 0" "s/weight: 1, upstream: \[/weight: 0, upstream: [/" "route.yaml:15:27: spec.split.variants[1].weight: Route/web: plugin 'router': expected a number > 0"
bad "negative weight" "s/weight: 2/weight: -1/" "spec.split.variants[2].weight: Route/web: plugin 'router': expected a number > 0"
bad "one variant" "/name: a,/d;/name: b,/d" "spec.split.variants: Route/web: plugin 'router': expected a sequence of 2 to 16 variants"
bad "a repeated name" "s/name: c,/name: A,/" "spec.split.variants[2].name: Route/web: plugin 'router': expected a name not used by another variant"
bad "a bad name" "s/name: c,/name: 'c d',/" "spec.split.variants[2].name: Route/web: plugin 'router': expected a variant name"
bad "a bad upstream" "s/upstream: \[$BB\]/upstream: nowhere/" "spec.split.variants[1].upstream: Route/web: plugin 'router': expected the backend address"
bad "no key" "/key: checkout-1/d" "spec.split: Route/web: plugin 'router': expected a key"
bad "a key with a dollar" "s/key: checkout-1/key: 'x\$y'/" "spec.split.key: Route/web: plugin 'router': expected the salt"
bad "unknown stickiness" "s/stickiness: cookie/stickiness: sometimes/" "spec.split.stickiness: Route/web: plugin 'router': expected cookie, header or none"
bad "a bad cookie name" "s/cookie: cratis_uid/cookie: 'a;b'/" "spec.split.cookie: Route/web: plugin 'router': expected a cookie name"
bad "an unknown field" "s/weight: 2,/weight: 2, colour: red,/" "spec.split.variants[2].colour: unknown field 'colour'"
bad "a share below 0.01%" "s/weight: 2,/weight: 100000000,/" "spec.split.variants[0].weight: Route/web: plugin 'router': expected at least 0.01% of the total weight"
route 1 1 1
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "the dealer still serves" 0 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PUB/" | sed 's/^200$/0/')"

# stickiness: header and none, and an access log path of one's own
sed -i 's/stickiness: cookie/stickiness: header\n    accessLog: logs\/exp.log/' "$P/route.yaml"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/a3.err"
expect_rc "stickiness header applies" 0 $?
v1=$(curl -s -H 'X-User-Id: alice' "http://127.0.0.1:$PUB/")
same=1
for i in 1 2 3 4 5 6 7 8; do
	[ "$(curl -s -H 'X-User-Id: alice' "http://127.0.0.1:$PUB/")" = "$v1" ] || same=0
done
expect_rc "a user id header keeps its variant" 1 "$same"
curl -s -D "$T/h3" -o /dev/null -H 'X-User-Id: alice' "http://127.0.0.1:$PUB/"
expect_not_in "no cookie with stickiness header" "Set-Cookie" "$T/h3"
check "the access log of one's own, relative to the project" grep -q '"user":"alice"' "$P/logs/exp.log"
sed -i 's/stickiness: header/stickiness: none/' "$P/route.yaml"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "stickiness none applies" 0 $?
for i in $(seq 60); do curl -s -H 'Cookie: cratis_uid=x' -H 'X-User-Id: alice' "http://127.0.0.1:$PUB/"; done | sort -u >"$T/none.out"
expect_rc "stickiness none deals every request afresh" 3 "$(wc -l <"$T/none.out")"

"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "the dealer stopped" sh -c "! curl -s http://127.0.0.1:$PUB/ >/dev/null"
finish
