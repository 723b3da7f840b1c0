#!/bin/sh
# What `rollout rollback --to` may put live, and releases of the same template again:
# - a release scaled down whose port another program took is refused (its own process must answer
#   on its port), and traffic stays where it was;
# - a release that failed its exit tests is refused unless --force;
# - after `rollout abort`, the same template can be released again;
# - promote, abort and rollback appear in `cratis history`;
# - release ports come from the store's allocator (distinct, from spec.releasePorts).
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/rollout" "$P"
rm -rf "$P/.cratis"
python3 - "$P/shop.yaml" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("""        timeoutSeconds: 10
        retries: 2
""", """        timeoutSeconds: 10
        retries: 2
      - run: [sh, -c, 'test "$0" != v4 || { echo "v4 checkout flow broken" >&2; exit 1; }', "${version}"]
""")
open(p, "w").write(s)
PY
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
PUB="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"
C() { "$CRATIS" "$@" -f "$P"; }
body() { curl -s --max-time 5 "$1"; }
impostor=""
stop_all() { [ -z "$impostor" ] || kill "$impostor" 2>/dev/null; C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
field() { python3 -c "import json,sys; print(' '.join(str(r[sys.argv[3]]) for r in json.load(open(sys.argv[1])) if r['release'].startswith(sys.argv[2])))" "$@"; }

for v in v1 v2 v3; do
	APP_VERSION=$v C apply --auto-approve >/dev/null 2>"$T/a-$v.err"
	expect_rc "$v live" 0 $?
done
C rollout history -o json >"$T/h1" 2>&1
expect_rc "v1 was scaled down when v3 went live" "retired" "$(field "$T/h1" r1- status)"
check "the store handed out distinct release ports from 30000-32767" python3 -c "import json,sys; p=[r['port'] for r in json.load(open('$T/h1'))]; sys.exit(0 if len(set(p)) == len(p) and all(30000 <= x <= 32767 for x in p) else 1)"
r1=$(field "$T/h1" r1- release)
p1=$(field "$T/h1" r1- port)

# another program takes v1's port: rollback --to v1 must not send the public traffic there
mkdir -p "$T/impostor"
echo "impostor" >"$T/impostor/index.html"
python3 -m http.server "$p1" --bind 127.0.0.1 --directory "$T/impostor" >/dev/null 2>&1 &
impostor=$!
wait_for 10 curl -sf "http://127.0.0.1:$p1/"
C rollout rollback --to "$r1" >/dev/null 2>"$T/rb1.err"
expect_rc "rollback --to a release whose port another program holds is refused" 1 $?
expect_in "and says the release could not be started again" "release $r1 could not be started again, traffic not switched" "$T/rb1.err"
expect_rc "public still answers v3" "<h1>shop v3</h1>" "$(body "$PUB")"
kill "$impostor"
wait "$impostor" 2>/dev/null
impostor=""
C rollout rollback --to "$r1" >/dev/null 2>"$T/rb2.err"
expect_rc "with the port free again, rollback --to v1 starts it and switches" 0 $?
expect_rc "public answers v1" "<h1>shop v1</h1>" "$(body "$PUB")"

# a release that failed its exit tests may take traffic only with --force
APP_VERSION=v4 C apply --auto-approve >/dev/null 2>"$T/a4.err"
expect_rc "v4 fails its exit tests" 1 $?
C rollout history -o json >"$T/h4" 2>&1
r4=$(field "$T/h4" r4- release)
C rollout rollback --to "$r4" >/dev/null 2>"$T/rb4.err"
expect_rc "rollback --to a release that failed its exit tests is refused" 1 $?
expect_in "naming why" "refusing to put release $r4 live: it failed its exitTests checks" "$T/rb4.err"
expect_rc "public still answers v1" "<h1>shop v1</h1>" "$(body "$PUB")"
C rollout rollback --to "$r4" --force >/dev/null 2>"$T/rb5.err"
expect_rc "with --force it goes live" 0 $?
expect_rc "public answers v4" "<h1>shop v4</h1>" "$(body "$PUB")"

# abort, then the same template again: a new release in preview (not "No changes")
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P/shop.yaml"
APP_VERSION=v5 C apply --auto-approve >/dev/null 2>"$T/a5.err"
expect_rc "v5 in preview" 0 $?
C rollout abort >/dev/null 2>"$T/ab.err"
expect_rc "abort v5" 0 $?
APP_VERSION=v5 C plan >"$T/plan5" 2>&1
expect_in "the plan says the aborted template is released again" "was aborted; apply releases it again" "$T/plan5"
APP_VERSION=v5 C apply --auto-approve >/dev/null 2>"$T/a5b.err"
expect_rc "v5 again" 0 $?
C rollout status -o json >"$T/s5" 2>&1
check "a new release of v5 is in preview" python3 -c "import json,sys; sys.exit(0 if [r for r in json.load(open('$T/s5')) if r['status']=='preview' and not r['release'].startswith('r5-')] else 1)"
C rollout promote >/dev/null 2>"$T/p5.err"
expect_rc "promote v5" 0 $?
expect_rc "public answers v5" "<h1>shop v5</h1>" "$(body "$PUB")"

# a bad port range is refused at plan, naming the field
sed -i 's/scaleDownDelaySeconds: 300/scaleDownDelaySeconds: 300\n  releasePorts: "40000-3000"/' "$P/shop.yaml"
APP_VERSION=v5 C plan >"$T/plan6" 2>&1
expect_rc "releasePorts out of order is refused" 1 $?
expect_in "naming the field" "spec.releasePorts" "$T/plan6"
sed -i '/releasePorts/d' "$P/shop.yaml"

# every rollout command is a deployment in `cratis history`
C history -o json >"$T/hist" 2>&1
for verb in promote abort rollback; do
	check "cratis history shows rollout $verb" python3 -c "import json,sys; d=json.load(open('$T/hist')); d=d.get('deployments', d) if isinstance(d, dict) else d; sys.exit(0 if any('rollout $verb' in (x.get('summary') or '') for x in d) else 1)"
done
check "the refused rollback is recorded failed" python3 -c "import json,sys; d=json.load(open('$T/hist')); d=d.get('deployments', d) if isinstance(d, dict) else d; sys.exit(0 if any('rollout rollback' in (x.get('summary') or '') and x.get('result')=='failed' for x in d) else 1)"
finish
