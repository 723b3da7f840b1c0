#!/bin/sh
# The access-log metrics provider (issue 12, src/experiment/metrics_nginx.c) against a real nginx
# on loopback: the log_format of metrics.h, split_clients over a user-id cookie setting the variant,
# simulated users (seeded) visiting and buying; the provider's per-variant counts must equal those
# computed here from the same log with Python's json module, also across a rotation (mv + USR1,
# what logrotate does) between two incremental reads.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "nginx is not installed (scripts/setup.sh)"; exit 1; }
MR=${CRATIS_BUILD_DIR:-$SRC/build}/tests/metrics_read
N="$T/nginx"
mkdir -p "$N/tmp"
PORT=$(free_port)
FORMAT=$("$MR" --log-format)   # METRICS_NGINX_LOG_FORMAT, as the controller will write it
cat >"$N/nginx.conf" <<EOF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path $N/tmp/body; proxy_temp_path $N/tmp/proxy; fastcgi_temp_path $N/tmp/fcgi;
  uwsgi_temp_path $N/tmp/uwsgi; scgi_temp_path $N/tmp/scgi;
  map \$cookie_uid \$cratis_user { default \$cookie_uid; }
  split_clients "exp1\$cratis_user" \$cratis_variant { 33.3% a; 33.3% b; * c; }
  $FORMAT
  access_log $N/access.log cratis_experiment;
  server {
    listen 127.0.0.1:$PORT;
    location = /buy { if (\$arg_fail) { return 503; } return 200 "bought \$cratis_variant\n"; }
    location / { return 200 "variant \$cratis_variant\n"; }
  }
}
EOF
check "the log_format of metrics.h is in the configuration" grep -q 'log_format cratis_experiment escape=json' "$N/nginx.conf"
nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" >"$T/nginx.out" 2>&1
expect_rc "nginx starts with the log_format" 0 $?
stop_nginx() { [ -f "$N/nginx.pid" ] && kill "$(cat "$N/nginx.pid")" 2>/dev/null; return 0; }
cleanup_hooks="$cleanup_hooks stop_nginx"
wait_for 10 curl -sf "http://127.0.0.1:$PORT/" || fail "nginx answers"

# users FIRST COUNT SEED: simulated users with a uid cookie; each visits /, some visit /product,
# some buy (a variant-dependent chance), some buys fail (503); returns the variant each saw
cat >"$T/users.py" <<'PY'
import random, sys, urllib.request, urllib.error
port, first, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
p_buy = {"a": 0.2, "b": 0.35, "c": 0.5}
def get(path, uid):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"uid=u{uid}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode().split()[-1]
    except urllib.error.HTTPError as e:
        return e.code, None
for uid in range(first, first + count):
    status, variant = get("/", uid)
    assert status == 200
    for _ in range(rnd.randrange(3)):
        get("/product", uid)
    if rnd.random() < p_buy[variant]:
        get("/buy?fail=1" if rnd.random() < 0.1 else "/buy", uid)
        if rnd.random() < 0.3:
            get("/buy", uid)          # a second purchase: still one converted user
PY
python3 "$T/users.py" "$PORT" 0 300 1
expect_rc "first 300 users" 0 $?

cat >"$T/cfg.json" <<EOF
{"provider": "nginx", "path": "$N/access.log", "variants": ["a", "b", "c"],
 "metrics": [{"name": "buy", "kind": "ratio", "exposure": "/*", "conversion": "/buy", "status": "2xx"},
             {"name": "latency", "kind": "mean", "field": "request_time", "reservoir": 100},
             {"name": "errors", "kind": "ratio", "exposure": "/buy", "conversion": "/buy", "status": "5xx"}]}
EOF
# between the two reads: logrotate's way (rename, USR1 to reopen), then more users
cat >"$T/rotate.sh" <<EOF
set -e
mv "$N/access.log" "$N/access.log.1"
kill -USR1 "\$(cat "$N/nginx.pid")"
i=0; while [ ! -f "$N/access.log" ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done
python3 "$T/users.py" "$PORT" 300 300 2
EOF
"$MR" "$T/cfg.json" --then "sh $T/rotate.sh" >"$T/got.json" 2>"$T/got.err"
expect_rc "the provider reads the log, the rotation and the new log" 0 $?
expect_in "one rotation followed" "rotations 1" "$T/got.err"
expect_in "no bad lines" "bad 0," "$T/got.err"

# independent count from both files
cat "$N/access.log.1" "$N/access.log" >"$T/all.log"
python3 - "$T/all.log" "$T/got.json" >"$T/compare.out" 2>&1 <<'PY'
import fnmatch, json, sys
# requests without a user id (the readiness probe here) count for no user, as in the provider
lines = [json.loads(l) for l in open(sys.argv[1])]
print("anonymous requests", sum(1 for l in lines if not l["user"]))
got = {v["name"]: v for v in json.load(open(sys.argv[2]))["variants"]}
bad = []
variant_of = {}
for l in lines:
    if l["user"]:
        variant_of.setdefault(l["user"], set()).add(l["variant"])
sticky = all(len(v) == 1 for v in variant_of.values())
print("sticky", sticky, "users", len(variant_of))
if not sticky:
    bad.append("a user saw two variants")
for v in "abc":
    ls = [l for l in lines if l["variant"] == v]
    users = {l["user"] for l in ls if l["user"]}
    exposed = {l["user"] for l in ls if l["user"] and fnmatch.fnmatchcase(l["path"], "/*")}
    conv = {l["user"] for l in ls if l["path"] == "/buy" and 200 <= l["status"] < 300} & exposed
    buyers = {l["user"] for l in ls if l["path"] == "/buy"}
    failed = {l["user"] for l in ls if l["path"] == "/buy" and 500 <= l["status"] < 600} & buyers
    rts = [l["request_time"] for l in ls]
    g = got[v]
    checks = [("users", g["users"], len(users)),
              ("exposures", g["metrics"]["buy"]["exposures"], len(exposed)),
              ("conversions", g["metrics"]["buy"]["conversions"], len(conv)),
              ("error exposures", g["metrics"]["errors"]["exposures"], len(buyers)),
              ("error conversions", g["metrics"]["errors"]["conversions"], len(failed)),
              ("latency n", g["metrics"]["latency"]["n"], len(rts)),
              ("reservoir", g["metrics"]["latency"]["reservoir"], min(100, len(rts)))]
    for name, a, b in checks:
        print(v, name, a, b)
        if a != b:
            bad.append(f"{v} {name}: provider {a}, log {b}")
    if abs(g["metrics"]["latency"]["sum"] - sum(rts)) > 1e-9:
        bad.append(f"{v} latency sum")
    if len(conv) == 0 or len(failed) == 0:
        bad.append(f"{v}: the load made no conversion or no failure to count")
print("\n".join(bad) if bad else "all counts equal")
sys.exit(1 if bad else 0)
PY
expect_rc "the provider's counts equal the log's, per variant" 0 $?
sed 's/^/    /' "$T/compare.out"
expect_in "every user kept its variant" "sticky True users 600" "$T/compare.out"

# the decision reads them (three variants, conversion ratio)
"$MR" "$T/cfg.json" --decide >"$T/dec.json" 2>"$T/dec.err"
expect_rc "decide_tick takes the provider's samples" 0 $?
expect_in "a verdict" '"verdict":' "$T/dec.json"

# a log that cannot be read is an error naming it
chmod 000 "$N/access.log"
if [ "$(id -u)" != 0 ]; then
	"$MR" "$T/cfg.json" >/dev/null 2>"$T/perm.err"
	expect_rc "an unreadable log fails" 1 $?
	expect_in "the error names the file" "cannot open '$N/access.log'" "$T/perm.err"
fi
chmod 644 "$N/access.log"
finish
