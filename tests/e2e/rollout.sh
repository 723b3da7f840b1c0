#!/bin/sh
# Releases end to end on examples/rollout: v1 live; v2 in preview while v1 serves, exit tests run
# against the preview, `rollout promote` switches; rollback is instant (no process started);
# zero failed requests under load during promote and rollback; a failing exit test leaves the live
# release serving and tears the island down; a failing afterPostProd check rolls back by itself;
# destroy leaves nothing running.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/rollout" "$P"
rm -rf "$P/.cratis"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
PUB="http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/"
PRE="http://127.0.0.1:$ROLLOUT_PREVIEW_PORT/"
# test-only hooks: v3 fails its exit test, v4 fails its in-flight check
python3 - "$P/shop.yaml" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("""        timeoutSeconds: 10
        retries: 2
""", """        timeoutSeconds: 10
        retries: 2
      - run: [sh, -c, 'test "$0" != v3 || { echo "v3 checkout flow broken" >&2; exit 1; }', "${version}"]
""")
s = s.replace("""    afterPostProd:
""", """    afterPostProd:
      - run: [sh, -c, 'test "$0" != v4 || { echo "error rate too high" >&2; exit 1; }', "${version}"]
""")
open(p, "w").write(s)
PY
C() { "$CRATIS" "$@" -f "$P"; }
body() { curl -s --max-time 5 "$1"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

APP_VERSION=v1 C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "first release" 0 $?
expect_rc "public answers v1" "<h1>shop v1</h1>" "$(body "$PUB")"
C rollout status >"$T/s1" 2>&1
expect_in "status: r1 active and up" "blue   active" "$T/s1"

# v2 with manual promotion: preview answers v2 while public answers v1
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P/shop.yaml"
APP_VERSION=v2 C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "v2 deployed to preview" 0 $?
expect_in "waits for promotion" "awaiting \`cratis rollout promote\`" "$T/a2.err"
expect_rc "preview answers v2" "<h1>shop v2</h1>" "$(body "$PRE")"
expect_rc "public still answers v1" "<h1>shop v1</h1>" "$(body "$PUB")"
C rollout history -o json >"$T/h2" 2>&1
expect_in "exit tests ran against the preview" '"stage": "exitTests"' "$T/h2"

# promote under load
python3 "$(dirname "$0")/load.py" "$PUB" 3 2 >"$T/load1.json" &
lp=$!
sleep 1
C rollout promote >/dev/null 2>"$T/p.err"
expect_rc "rollout promote" 0 $?
expect_rc "public answers v2 after promote" "<h1>shop v2</h1>" "$(body "$PUB")"
wait "$lp"
expect_in "no failed request during promote" '"failed": 0' "$T/load1.json"
check "only v1 and v2 answered during promote" python3 -c "import json,sys; b=json.load(open('$T/load1.json'))['bodies']; sys.exit(0 if set(b) <= {'<h1>shop v1</h1>','<h1>shop v2</h1>'} and b else 1)"
C rollout status -o json >"$T/s2" 2>&1
v1port=$(python3 -c "import json; print([r['port'] for r in json.load(open('$T/s2')) if r['status']=='previous'][0])")
v1pid=$(pgrep -f "http[.]server $v1port" | head -n 1)
check "the previous release stays hot" test -n "$v1pid"

# instant rollback under load, no process started
python3 "$(dirname "$0")/load.py" "$PUB" 3 2 >"$T/load2.json" &
lp=$!
sleep 1
C rollout rollback >/dev/null 2>"$T/rb.err"
expect_rc "rollout rollback" 0 $?
# (the time from rollback to the first v1 answer is measured by bench/rollout.sh)
expect_rc "the first answer after rollout rollback returns is v1" "<h1>shop v1</h1>" "$(body "$PUB")"
expect_rc "the same v1 process serves (no start)" "$v1pid" "$(pgrep -f "http[.]server $v1port" | head -n 1)"
wait "$lp"
expect_in "no failed request during rollback" '"failed": 0' "$T/load2.json"
sed -i 's/autoPromotion: false/autoPromotion: true/' "$P/shop.yaml"

# a failing exit test: v1 keeps serving, the island is gone
APP_VERSION=v3 C apply --auto-approve >/dev/null 2>"$T/a3.err"
expect_rc "v3 with a failing exit test is refused" 1 $?
expect_in "the failing hook and its output are named" "exitTests hook 2 ('sh') failed: v3 checkout flow broken" "$T/a3.err"
expect_in "the live release keeps serving" "island torn down, the live release keeps serving" "$T/a3.err"
expect_rc "public still answers v1" "<h1>shop v1</h1>" "$(body "$PUB")"
C rollout status -o json >"$T/s3" 2>&1
check "no v3 release left running" python3 -c "import json,sys; sys.exit(0 if all(r['status'] in ('active','previous') for r in json.load(open('$T/s3'))) else 1)"
C rollout history >"$T/h3" 2>&1
expect_in "history records the failed release" "failed" "$T/h3"

# a failing afterPostProd check rolls back by itself
APP_VERSION=v4 C apply --auto-approve >/dev/null 2>"$T/a4.err"
expect_rc "v4 with a failing in-flight check" 1 $?
expect_in "rolled back automatically" "afterPostProd check of release" "$T/a4.err"
expect_in "names what it rolled back to" "error rate too high; rolled back to r1-" "$T/a4.err"
expect_rc "public answers v1 again" "<h1>shop v1</h1>" "$(body "$PUB")"

# rollback --to a release that was scaled down: it is started again, then traffic switches
C rollout history -o json >"$T/h5" 2>&1
r2=$(python3 -c "import json; print([r['release'] for r in json.load(open('$T/h5')) if r['status']=='retired'][0])")
check "an older release was scaled down" test -n "$r2"
C rollout rollback --to "$r2" >/dev/null 2>"$T/rb2.err"
expect_rc "rollback --to a scaled-down release" 0 $?
expect_in "it was redeployed first" "is not running; redeploying it" "$T/rb2.err"
expect_rc "public answers v2" "<h1>shop v2</h1>" "$(body "$PUB")"

# abort: the release in preview goes, the live one stays
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P/shop.yaml"
APP_VERSION=v5 C apply --auto-approve >/dev/null 2>&1
expect_rc "preview answers v5" "<h1>shop v5</h1>" "$(body "$PRE")"
C rollout abort >/dev/null 2>"$T/ab.err"
expect_rc "rollout abort" 0 $?
expect_rc "public still answers v2" "<h1>shop v2</h1>" "$(body "$PUB")"
C rollout status -o json >"$T/s5" 2>&1
check "no release left in preview" python3 -c "import json,sys; sys.exit(0 if all(r['status'] != 'preview' for r in json.load(open('$T/s5'))) else 1)"
C rollout abort >/dev/null 2>"$T/ab2.err"
expect_rc "abort with nothing in preview" 1 $?
expect_in "says so" "has no release in preview to abort" "$T/ab2.err"

# destroy: nothing left (release processes found by their ports, so parallel runs do not count)
C rollout history -o json >"$T/h6" 2>&1
ports=$(python3 -c "import json; print(' '.join(str(r['port']) for r in json.load(open('$T/h6'))))")
C destroy --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "public port closed" sh -c "! curl -s --max-time 2 $PUB >/dev/null"
left=0
for port in $ports; do pgrep -f "http[.]server $port " >/dev/null && left=$((left + 1)); done
expect_rc "no release process left" 0 "$left"
finish
