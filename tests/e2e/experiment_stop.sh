#!/bin/sh
# Experiments that do not promote by themselves (issue 12): a bad spec is refused at validate
# with file:line:col and the field; a guardrail breach (variant b answers 503 to half of the
# requests) stops early and keeps the control; `experiment abort` puts the Route back on the one
# live release and stops the variants; with promotion manual the loop stops at "decided" with
# the split still live, and `experiment conclude` promotes the winner.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/experiment_lib.sh"
P="$T/shop"
mkdir -p "$P"
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
split_live() { grep -q split_clients "$P/.cratis/run/staging/shop/Rollout-web/router/nginx.conf"; }

# validation: each mistake named with its place and field
bad() {
	write_project "$P/shop.yaml" "$2"
	C validate >"$T/v.out" 2>&1
	rc=$?
	if [ "$rc" = 1 ] && grep -qE "shop.yaml:[0-9]+:[0-9]+: $3" "$T/v.out"; then ok "validate refuses: $1"; else fail "validate: $1 (exit $rc)"; sed 's/^/    /' "$T/v.out"; fi
}
BASE='  rollout: web
  metrics: [{name: buy, kind: ratio, exposure: "/", conversion: "/buy"}]
  objective: {metric: buy}
  duration: {max: 60s}'
bad "no control" "$BASE
  variants: [{name: a}, {name: b}]" "spec.variants"
bad "a weight of a variant that does not exist" "$BASE
  variants: [{name: a, control: true}, {name: b}]
  split: {weights: {x: 1}}" "spec.split.weights.x"
bad "an unknown objective metric" '  rollout: web
  variants: [{name: a, control: true}, {name: b}]
  metrics: [{name: buy, kind: ratio, exposure: "/", conversion: "/buy"}]
  objective: {metric: revenue}
  duration: {max: 60s}' "spec.objective.metric"
bad "a metric of an unknown kind" '  rollout: web
  variants: [{name: a, control: true}, {name: b}]
  metrics: [{name: buy, kind: median}]
  objective: {metric: buy}
  duration: {max: 60s}' "spec.metrics\[0\].kind"
bad "no maximum duration" '  rollout: web
  variants: [{name: a, control: true}, {name: b}]
  metrics: [{name: buy, kind: ratio, exposure: "/", conversion: "/buy"}]
  objective: {metric: buy}
  duration: {min: 10s}' "spec.duration.max"
bad "a composite objective over an unknown metric" '  rollout: web
  variants: [{name: a, control: true}, {name: b}]
  metrics: [{name: buy, kind: ratio, exposure: "/", conversion: "/buy"}]
  objective: {expression: "buy.rate * revnue.mean"}
  duration: {max: 60s}' "spec.objective.expression"
bad "an unknown field (strict fields)" "$BASE
  variants: [{name: a, control: true}, {name: b}]
  promotoin: manual" "spec.promotoin"

# a guardrail breach: b answers 503 to half of its requests
write_project "$P/shop.yaml" '  rollout: web
  variants:
    - {name: a, control: true}
    - {name: b, variables: {VARIANT: b, BUY_P: "0.10", FAIL_P: "0.5"}}
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
    - {name: errors, kind: ratio, exposure: "/*", conversion: "/*", status: 5xx}
  objective: {metric: buy}
  guardrails: [{metric: errors, threshold: 0.05}]
  duration: {min: 60s, max: 300s}'
C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "apply starts the experiment" 0 $?
rm -f "$T/stop"
python3 "$LOAD" "$PUB" 100 1 4 31 --until-file "$T/stop" 120 >"$T/l1.json" &
lp=$!
C experiment run --interval 1 -o json >"$T/r1.json" 2>"$T/r1.err"
expect_rc "experiment run ends" 0 $?
touch "$T/stop"
wait "$lp"
expect_rc "stopped early by the guardrail" "stopped stop-guardrail" "$(jget "$T/r1.json" 'j["status"] + " " + j["verdict"]')"
check "before duration.min (60 s)" python3 -c "import json,sys; sys.exit(0 if json.load(open('$T/r1.json'))['elapsedSeconds'] < 60 else 1)"
check "the reason names the guardrail and the variant" python3 -c "
import json,sys; r=json.load(open('$T/r1.json'))['reasons']; sys.exit(0 if any(\"guardrail 'errors' breached by variant 'b'\" in x for x in r) else 1)"
expect_rc "the control answers" a "$(curl -s "$PUB/")"
split_live
check "the split is removed" test $? = 1
bport=$(jget "$T/r1.json" '[v["port"] for v in j["variants"] if v["name"] == "b"][0]')
check "variant b is stopped" sh -c "! curl -s --max-time 2 http://127.0.0.1:$bport/health"
C apply --auto-approve >"$T/a1b.out" 2>&1
expect_in "an unchanged spec does not run an ended experiment again" "No changes" "$T/a1b.out"

# abort: a new spec starts a new experiment; abort restores the single upstream
sed -i 's/FAIL_P: "0.5"/FAIL_P: "0"/' "$P/shop.yaml"
C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "apply starts the new experiment" 0 $?
split_live
check "the split is live" test $? = 0
C experiment status -o json >"$T/s2.json" 2>&1
bport=$(jget "$T/s2.json" '[v["port"] for v in j["variants"] if v["name"] == "b"][0]')
"$CRATIS" experiment status -f "$P" --watch --interval 0.3 >"$T/watch.out" 2>&1 &
wp=$!
wait_for 10 grep -q "running" "$T/watch.out"
C experiment abort checkout >"$T/ab.out" 2>"$T/ab.err"
expect_rc "experiment abort" 0 $?
wait_for 10 sh -c "! kill -0 $wp 2>/dev/null"
check "status --watch ended by itself once the experiment ended" sh -c "! kill -0 $wp 2>/dev/null"
wait "$wp"
expect_rc "status --watch exit" 0 $?
expect_in "status --watch printed the end" "checkout (shop/staging): aborted" "$T/watch.out"
C experiment status -o json >"$T/s3.json" 2>&1
expect_rc "status aborted" aborted "$(jget "$T/s3.json" 'j["status"]')"
split_live
check "the Route is back on one upstream" test $? = 1
expect_rc "the control answers" a "$(curl -s "$PUB/")"
check "variant b is stopped" sh -c "! curl -s --max-time 2 http://127.0.0.1:$bport/health"
C experiment abort checkout >/dev/null 2>"$T/ab2.err"
expect_rc "a second abort is refused" 1 $?
C history >"$T/hist" 2>&1
expect_in "abort is a deployment in history" "experiment abort checkout" "$T/hist"

# promotion manual: decided, then concluded by hand
write_project "$P/shop.yaml" '  rollout: web
  variants:
    - {name: a, control: true}
    - {name: c, variables: {VARIANT: c, BUY_P: "0.60"}}
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
  objective: {metric: buy}
  duration: {max: 300s, minSamples: 50}
  minimumDetectableEffect: 0.5
  promotion: manual'
# a promote hook that waits while a flag file exists: conclude is killed in the middle
sed -i "s|    exitTests:|    promote:\n      - run: [sh, -c, 'while test -f $T/hold; do sleep 0.1; done']\n        timeoutSeconds: 60\n    exitTests:|" "$P/shop.yaml"
C apply --auto-approve >/dev/null 2>"$T/a3.err"
expect_rc "apply starts the manual experiment" 0 $?
rm -f "$T/stop"
python3 "$LOAD" "$PUB" 100 1 4 41 --until-file "$T/stop" 120 >"$T/l3.json" &
lp=$!
C experiment run --interval 1 -o json >"$T/r3.json" 2>"$T/r3.err"
expect_rc "experiment run stops at the decision" 0 $?
expect_rc "decided, winner c" "decided c" "$(jget "$T/r3.json" 'j["status"] + " " + j["winner"]')"
split_live
check "the split stays live until conclude" test $? = 0
touch "$T/hold"
"$CRATIS" experiment conclude checkout -f "$P" >"$T/c0.out" 2>"$T/c0.err" &
cp=$!
wait_for 30 sh -c "'$CRATIS' experiment status -f '$P' -o json | grep -q '\"status\": \"concluding\"'"
sleep 0.5
kill -9 "$cp"
wait "$cp" 2>/dev/null
C experiment status -o json >"$T/s35.json" 2>&1
expect_rc "conclude killed with -9 in its promote hook leaves the record concluding" concluding "$(jget "$T/s35.json" 'j["status"]')"
split_live
check "the split still serves meanwhile" test $? = 0
rm -f "$T/hold"
C experiment conclude checkout --lock-timeout 30 >"$T/c.out" 2>"$T/c.err"
expect_rc "experiment conclude again finishes what was decided" 0 $?
touch "$T/stop"
wait "$lp"
expect_rc "no failed request during the switch" 0 "$(jget "$T/l3.json" 'j["failed"]')"
expect_rc "c is live" c "$(curl -s "$PUB/")"
C experiment status -o json >"$T/s4.json" 2>&1
expect_rc "concluded, winner c" "concluded c" "$(jget "$T/s4.json" 'j["status"] + " " + j["winner"]')"
C rollout status -o json >"$T/rs4.json" 2>&1
expect_rc "exactly one active release, c's; the control the hot previous one" "c:active blue:previous" "$(jget "$T/rs4.json" '" ".join(r["colour"] + ":" + r["status"] for r in j if r["status"] in ("active", "previous", "promoting", "variant"))')"

# the Rollout releases while an experiment runs: the experiment's results no longer apply
sed -i 's/promotion: manual/promotion: automatic/' "$P/shop.yaml"
C apply --auto-approve >/dev/null 2>"$T/a5.err"
expect_rc "a new experiment (promotion automatic)" 0 $?
split_live
check "its split is live" test $? = 0
sed -i 's/BUY_P: "0.10"}/BUY_P: "0.11"}/' "$P/shop.yaml"
C apply --auto-approve >/dev/null 2>"$T/a6.err"
expect_rc "the Rollout releases a new template meanwhile" 0 $?
C experiment run --interval 0.5 -o json >"$T/r6.json" 2>"$T/r6.err"
expect_rc "experiment run ends at once" 0 $?
expect_rc "stopped" stopped "$(jget "$T/r6.json" 'j["status"]')"
expect_in "it says why" "no longer the control" "$T/r6.json"
expect_rc "the new release serves" a "$(curl -s "$PUB/")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
