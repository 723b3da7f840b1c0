#!/bin/sh
# cratis serve hosts experiments and scheduled scale-downs (issues 12 and 14): a project with a
# Rollout (real nginx through the Route plugin, Python variants) and an Experiment is applied
# through the API; the server alone (no `cratis experiment run`) ticks it: the GET routes show it
# running with its history growing; the server restarted mid-experiment resumes from the record;
# abort through the API (202, then aborted); a new spec decides (promotion manual: "decided",
# winner c) under a seeded, bounded load, and conclude through the API (202) promotes c through
# the switch; with scaleDownDelaySeconds 1 the server then scales the previous release down with
# no further command. Access: 401 without a token, 403 for a role without the action, 200.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
. "$(dirname "$0")/experiment_lib.sh"
S="$T/srv"
P="$T/shop"
mkdir -p "$P"
write_project "$P/shop.yaml" '  rollout: web
  variants:
    - {name: a, control: true}
    - {name: c, variables: {VARIANT: c, BUY_P: "0.40"}}
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
  objective: {metric: buy, direction: maximize}
  duration: {min: 1s, max: 300s, minSamples: 100000}
  minimumDetectableEffect: 0.5
  promotion: manual'
sed -i 's/scaleDownDelaySeconds: 0/scaleDownDelaySeconds: 1/' "$P/shop.yaml"
C() { "$CRATIS" "$@" -f "$P" --state-dir "$S"; }
stop_all() { [ -z "${rp:-}" ] || kill -KILL "$rp" 2>/dev/null; stop_server KILL; touch "$T/stop"; C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
READER=$("$CRATIS" token create --state-dir "$S" --subject viewer --role readonly 2>/dev/null)
GUEST=$("$CRATIS" token create --state-dir "$S" --subject mallory --role guest 2>/dev/null)
PROD=$("$CRATIS" token create --state-dir "$S" --subject olga --role prodviewer 2>/dev/null)
# prodviewer may read production's experiments only: the list is filtered per experiment
printf 'p, role:prodviewer, experiments, get, production/*, allow\n' >"$T/policy.csv"
LOG="$T/serve.log"
check "serve starts with --tick 0.5" start_server "$S" "$LOG" --tick 0.5 --policy "$T/policy.csv"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --tick 0 >"$T/tick.out" 2>&1
expect_rc "--tick 0 is a usage error" 64 $?

check "register the project" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"shop\",\"path\":\"$P\"}")" = 201
X=/v1/projects/shop/environments/staging/experiments/checkout
# deploy ENV-BODY: apply through the API and wait for the deployment to finish; its result
deploy() {
	c=$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')
	[ "$c" = 202 ] || { echo "deploy: $c"; cat "$T/resp"; return 1; }
	id=$(jq_py 'd["id"]' <"$T/resp")
	wait_for 120 sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL/v1/deployments/$id' | grep -q '\"result\":\"\\(succeeded\\|failed\\|interrupted\\)\"'"
	req GET "/v1/deployments/$id" "$ADMIN" >/dev/null
	jq_py 'd["result"]' <"$T/resp"
}
# xget EXPR: EXPR over the experiment's status document (GET), as the admin
xget() { req GET "$X" "$ADMIN" >/dev/null; jq_py "$1" <"$T/resp"; }
# the history keeps its newest EXPERIMENT_HISTORY_MAX points: progress is its last point's time
last_point() { xget 'd["history"][-1]["elapsedSeconds"] if d["history"] else 0'; }
# grown_past SECONDS: the last history point is later than SECONDS
grown_past() {
	curl -s -H "Authorization: Bearer $ADMIN" "$URL$X" |
		python3 -c 'import json,sys; h=json.load(sys.stdin)["history"]; sys.exit(0 if h and h[-1]["elapsedSeconds"] > float(sys.argv[1]) else 1)' "$1"
}
# ticks: the server's cratis_experiment_ticks_total
ticks() { curl -s "$URL/metrics" | sed -n 's/^cratis_experiment_ticks_total //p'; }

expect_rc "apply through the API starts the experiment" succeeded "$(deploy)"
expect_rc "GET the experiment: running" running "$(xget 'd["status"]')"
started=$(xget 'd["started"]')

# seeded, bounded load while the server decides (stops at $T/stop or after 240 s)
rm -f "$T/stop"
python3 "$LOAD" "$PUB" 100 1 4 31 --until-file "$T/stop" 240 >"$T/load.json" &
lp=$!

# the server alone ticks it: the history grows
check "the server ticks the experiment (history of 3 points)" wait_for 60 sh -c "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' '$URL$X' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"history\"]))')\" -ge 3"
check "no experiment run process did it" test -z "$(own_procs 'cratis experiment run')"
req GET /metrics - >/dev/null
check "metrics count the ticks" python3 -c "
import re,sys; t=open('$T/resp').read(); m=re.search(r'^cratis_experiment_ticks_total (\d+)', t, re.M); sys.exit(0 if m and int(m.group(1)) >= 3 else 1)"
expect_in "metrics: one experiment running" "cratis_experiments_running 1" "$T/resp"
req GET "$X" "$ADMIN" >/dev/null
check "each history point has both variants with ciLow/ciHigh" python3 -c "
import json,sys; h=json.load(open('$T/resp'))['history']
sys.exit(0 if all(sorted(v['name'] for v in p['variants'])==['a','c'] and all('ciLow' in v and 'ciHigh' in v for v in p['variants']) for p in h) else 1)"

# the dashboard draws the real document's chart (when the browser and playwright-core are there,
# as tests/e2e/dashboard.sh needs them)
TOOLS="$SRC/tests/tools"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ] && command -v node >/dev/null 2>&1 && [ -d "$TOOLS/node_modules/playwright-core" ]; then
	ART=${CRATIS_ARTIFACTS:-${CRATIS_BUILD_DIR:-$SRC/build}/meson-logs/dashboard}
	mkdir -p "$ART"
	URL="$URL" TOKEN="$ADMIN" EXPERIMENT=checkout VARIANTS=a,c ARTIFACTS="$ART" CHROMIUM="$CHROMIUM" \
		NODE_PATH="$TOOLS/node_modules" node "$TOOLS/experiment_chart_check.js" >"$T/browser.out" 2>&1
	check "the dashboard draws the real experiment's chart" test $? = 0
	sed 's/^/    /' "$T/browser.out"
else
	echo "skip - the dashboard check needs chromium, node and tests/tools/node_modules/playwright-core"
fi

# the list, filtered by the policy; access rows
check "GET /v1/experiments as admin" test "$(req GET /v1/experiments "$ADMIN")" = 200
expect_rc "it lists checkout, running" "checkout running" "$(jq_py '" ".join(e["name"] + " " + e["status"] for e in d)' <"$T/resp")"
while read -r m p want_reader; do
	c=$(req "$m" "$p" -); [ "$c" = 401 ] && ok "$m $p without a token: 401" || fail "$m $p without a token: $c"
	c=$(req "$m" "$p" "$GUEST"); [ "$c" = 403 ] && ok "$m $p as guest: 403" || fail "$m $p as guest: $c"
	c=$(req "$m" "$p" "$READER"); [ "$c" = "$want_reader" ] && ok "$m $p as readonly: $want_reader" || fail "$m $p as readonly: $c"
done <<EOF2
GET /v1/experiments 200
GET $X 200
POST $X/conclude 403
POST $X/abort 403
EOF2
check "GET /v1/experiments as prodviewer" test "$(req GET /v1/experiments "$PROD")" = 200
expect_rc "lists none of staging's" "[]" "$(cat "$T/resp")"
check "GET staging's experiment as prodviewer: 403" test "$(req GET "$X" "$PROD")" = 403
check "an unknown experiment is a 404" test "$(req GET /v1/projects/shop/environments/staging/experiments/nope "$ADMIN")" = 404

# a CLI decision loop on the same store coexists with the server's (the lock, compare-and-set)
t0=$(ticks)
"$CRATIS" experiment run -f "$P" --state-dir "$S" --interval 0.3 >"$T/run.out" 2>"$T/run.err" &
rp=$!
check "the CLI loop ticks beside the server" wait_for 60 sh -c "test \$(grep -c 'experiment checkout: running' '$T/run.err') -ge 5"
check "and the server's loop too" wait_for 60 sh -c "test \$(curl -s '$URL/metrics' | sed -n 's/^cratis_experiment_ticks_total //p') -ge $((t0 + 5))"
kill -INT "$rp"
wait "$rp"
expect_rc "the CLI loop stops on SIGINT" 130 $?
expect_not_in "the CLI loop reports no error" "error" "$T/run.err"
expect_not_in "the scheduler reports no error" "scheduler:" "$LOG"
expect_rc "still running" running "$(xget 'd["status"]')"

# the server restarted mid-experiment resumes from the record
before=$(last_point)
stop_server TERM
expect_rc "the server stops on SIGTERM" 0 "$SERVER_RC"
expect_in "it says it stopped" "cratis serve: stopped" "$LOG"
check "serve starts again" start_server "$S" "$LOG.2" --tick 0.5 --policy "$T/policy.csv"
expect_rc "still running after the restart" running "$(xget 'd["status"]')"
check "the restarted server ticks on (history past ${before} s)" wait_for 60 grown_past "$before"
expect_rc "from the same record (started unchanged)" "$started" "$(xget 'd["started"]')"

# abort through the API: 202 with the deployment, then aborted
c=$(req POST "$X/abort" "$ADMIN")
expect_rc "POST abort: 202" 202 "$c"
grep -qi '^Location: /v1/deployments/' "$T/resp.h"
check "with a Location" test $? = 0
expect_rc "naming the action" "abort checkout" "$(jq_py 'd["action"] + " " + d["experiment"]' <"$T/resp")"
check "the experiment is aborted" wait_for 60 sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL$X' | grep -q '\"status\":\"aborted\"'"
expect_rc "the public address answers the control" a "$(curl -s "$PUB/")"
c=$(req POST "$X/abort?wait=true" "$ADMIN")
expect_rc "aborting it again is a 422 (it has ended)" 422 "$c"

# a new spec: the server decides (promotion manual: decided), conclude through the API promotes c
sed -i 's/minSamples: 100000/minSamples: 100/' "$P/shop.yaml"
expect_rc "apply the new spec through the API" succeeded "$(deploy)"
check "the server decides: c wins" wait_for 180 sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL$X' | grep -q '\"status\":\"decided\"'"
expect_rc "verdict and winner" "promote c" "$(xget 'd["verdict"] + " " + str(d["winner"])')"
c=$(req POST "$X/conclude" "$ADMIN" '{}')
expect_rc "POST conclude: 202" 202 "$c"
check "the experiment is concluded" wait_for 120 sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL$X' | grep -q '\"status\":\"concluded\"'"
expect_rc "the public address answers the winner" c "$(curl -s "$PUB/")"
touch "$T/stop"
wait "$lp"
expect_rc "no failed request under the load" 0 "$(jget "$T/load.json" 'j["failed"]')"
c=$(req POST "$X/conclude?wait=true" "$ADMIN" '{"winner":"a"}')
expect_rc "concluding it again is a 422" 422 "$c"
c=$(req POST "$X/conclude" "$ADMIN" '{"winner":3}')
expect_rc "a winner that is not a name is a 422" 422 "$c"
expect_in "naming the field" '"field":"winner"' "$T/resp"

# scheduled scale-down: the control kept hot as the previous release (scaleDownDelaySeconds 1)
# is stopped by the server with no further command
check "the server scales the previous release down" wait_for 60 sh -c "curl -s -H 'Authorization: Bearer $ADMIN' '$URL/v1/projects/shop/environments/staging/rollouts/web' | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"releases\"]; sys.exit(0 if not [x for x in r if x[\"status\"]==\"previous\"] and [x for x in r if x[\"status\"]==\"retired\"] else 1)'"
req GET "/v1/projects/shop/environments/staging/history" "$ADMIN" >/dev/null
expect_in "recorded as a deployment of its own" "rollout scale-down web" "$T/resp"
req GET /metrics - >/dev/null
expect_in "metrics count the scale-down" "cratis_scheduled_scale_downs_total 1" "$T/resp"
expect_in "the server logged it" "scaled down the previous release" "$LOG.2"
stop_server TERM
expect_rc "the server stops" 0 "$SERVER_RC"
finish
