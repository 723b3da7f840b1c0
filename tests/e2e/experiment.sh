#!/bin/sh
# Experiments end to end (issue 12) with real nginx (the Route's dealer) and three variants of a
# small shop whose /buy succeeds with 10%, 10% and 40%: apply builds each variant as its own
# release and puts the split live; users keep their variant while it runs and the pin header
# routes a request; `experiment run` killed with -9 resumes from the record without counting a
# line twice; the loop promotes the best variant through the blue/green switch with 0 failed
# requests, the control kept hot as the previous release, the loser stopped; events; destroy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/experiment_lib.sh"
P="$T/shop"
mkdir -p "$P"
write_project "$P/shop.yaml" '  rollout: web
  variants:
    - {name: a, control: true}
    - {name: b, variables: {VARIANT: b, BUY_P: "0.10"}}
    - {name: c, variables: {VARIANT: c, BUY_P: "0.40"}}
  split: {stickiness: cookie}
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
    - {name: errors, kind: ratio, exposure: "/*", conversion: "/*", status: 5xx}
  objective: {metric: buy, direction: maximize}
  guardrails: [{metric: errors, threshold: 0.05}]
  duration: {min: 1s, max: 300s, minSamples: MINSAMPLES}
  minimumDetectableEffect: 0.5'
# no decision before the kill/resume part is over: then minSamples drops
sed -i 's/MINSAMPLES/100000/' "$P/shop.yaml"
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

C apply --auto-approve >"$T/a1.out" 2>"$T/a1.err"
expect_rc "apply starts the experiment" 0 $?
expect_in "the split went live" "the split is live on port $XP_ACTIVE_PORT over 3 variants" "$T/a1.err"
C experiment status -o json >"$T/s1.json" 2>&1
expect_rc "status: running" running "$(jget "$T/s1.json" 'j["status"]')"
expect_rc "status: the control is a" a "$(jget "$T/s1.json" 'j["control"]')"
expect_rc "status: each variant has a release and a port" 3 "$(jget "$T/s1.json" 'sum(1 for v in j["variants"] if v["release"] and v["port"] > 0)')"
C rollout status >"$T/rs1" 2>&1
expect_in "rollout status lists variant c's release" " c      variant" "$T/rs1"
grep -q split_clients "$T/shop/.cratis/run/staging/shop/Rollout-web/router/nginx.conf"
check "the Route deals with split_clients" test $? = 0

# stickiness: 300 users, 3 visits each, no decision loop running
python3 "$LOAD" "$PUB" 300 3 4 11 >"$T/l1.json"
expect_rc "no failed request" 0 "$(jget "$T/l1.json" 'j["failed"]')"
expect_rc "every user kept their variant" 0 "$(jget "$T/l1.json" 'j["switched"]')"
expect_rc "all three variants served" "a b c" "$(jget "$T/l1.json" '" ".join(sorted(j["variants"]))')"
check "the split is near 1:1:1 (each variant 60..140 of 300 users)" python3 -c "
import json,sys; v=json.load(open('$T/l1.json'))['variants']; sys.exit(0 if all(60 <= n <= 140 for n in v.values()) else 1)"
expect_rc "the pin header routes to b" b "$(curl -s -H 'X-Cratis-Variant: b' "$PUB/")"

# a variant's process dies: plan reports the drift, apply starts it again
bpid=""
for p in $(own_procs experiment_app.py); do
	tr '\0' '\n' <"/proc/$p/environ" | grep -qx VARIANT=b && bpid=$p
done
check "variant b's process found" test -n "$bpid"
kill -9 "$bpid"
C plan >"$T/plan1.out" 2>&1
expect_in "plan: the dead variant is drift of the Experiment" "variant b (release" "$T/plan1.out"
C apply --auto-approve >"$T/a15.out" 2>"$T/a15.err"
expect_rc "apply after the drift" 0 $?
expect_in "apply started variant b again" "starting it again" "$T/a15.err"
expect_rc "b answers again (pinned)" b "$(curl -s -H 'X-Cratis-Variant: b' "$PUB/")"
C experiment status -o json >"$T/s15.json" 2>&1
expect_rc "the experiment still runs, from its first start" "running $(jget "$T/s1.json" 'j["started"]')" "$(jget "$T/s15.json" 'j["status"] + " " + j["started"]')"

# the decision loop killed with -9, then resumed: no line counted twice
LOG=$(jget "$T/s1.json" '[l for l in __import__("glob").glob("'"$P"'/.cratis/run/staging/shop/Experiment-checkout/access-*.log")][0]')
"$CRATIS" experiment run -f "$P" --interval 0.5 >"$T/r1.out" 2>"$T/r1.err" &
rp=$!
wait_for 30 sh -c "'$CRATIS' experiment status -f '$P' -o json | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"history\"]) >= 2 else 1)'"
kill -9 "$rp"
wait "$rp" 2>/dev/null
C experiment status -o json >"$T/s2.json" 2>&1
n2=$(jget "$T/s2.json" 'len(j["history"])')
check "ticks were recorded before the kill ($n2)" test "$n2" -ge 2
want=$(log_users "$LOG")
got=$(jget "$T/s2.json" 'json.dumps({v["name"]: int(v["exposures"]) for v in j["history"][-1]["variants"]})')
expect_rc "exposures equal the distinct users of the access log" "$want" "$got"
python3 "$LOAD" "$PUB" 60 1 4 12 >"$T/l2.json"
"$CRATIS" experiment run -f "$P" --interval 0.5 >"$T/r2.out" 2>"$T/r2.err" &
rp=$!
wait_for 30 sh -c "'$CRATIS' experiment status -f '$P' -o json | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"history\"]) >= $n2 + 2 else 1)'"
kill -9 "$rp"
wait "$rp" 2>/dev/null
C experiment status -o json >"$T/s3.json" 2>&1
want=$(log_users "$LOG")
got=$(jget "$T/s3.json" 'json.dumps({v["name"]: int(v["exposures"]) for v in j["history"][-1]["variants"]})')
expect_rc "after the resume: still the distinct users of the log (none counted twice)" "$want" "$got"
check "the resumed loop continued the recorded one (its history goes on from it)" python3 -c "
import json,sys
a=json.load(open('$T/s2.json')); b=json.load(open('$T/s3.json'))
sys.exit(0 if len(b['history']) > len(a['history']) and b['history'][:len(a['history'])] == a['history'] and b['started'] == a['started'] else 1)"

# the decision: minSamples down, users keep coming while the loop runs; c wins
sed -i 's/minSamples: 100000/minSamples: 100/' "$P/shop.yaml"
# a changed spec is a new experiment: apply restarts it
C apply --auto-approve >"$T/a2.out" 2>"$T/a2.err"
expect_rc "apply with the new spec restarts the experiment" 0 $?
expect_in "the old run is stopped" "the spec changed" "$T/a2.err"
rm -f "$T/stop"
python3 "$LOAD" "$PUB" 200 2 4 13 --until-file "$T/stop" 240 >"$T/l3.json" &
lp=$!
C experiment run --interval 1 >"$T/r3.out" 2>"$T/r3.err"
expect_rc "experiment run concludes" 0 $?
sleep 1
touch "$T/stop"
wait "$lp"
expect_in "c was promoted" "winner c" "$T/r3.out"
expect_rc "no failed request during the experiment and the switch" 0 "$(jget "$T/l3.json" 'j["failed"]')"
C experiment status -o json >"$T/s4.json" 2>&1
expect_rc "status: concluded, promote, winner c" "concluded promote c" "$(jget "$T/s4.json" 'j["status"], j["verdict"], j["winner"]' | tr -d "(),'")"
check "status -o json has the dashboard's shape" python3 -c "
import json,sys
j=json.load(open('$T/s4.json'))
keys={'project','environment','name','status','verdict','winner','control','started','updated','elapsedSeconds','result','history'}
h=j['history'][-1]
ok = keys <= set(j) and {'time','elapsedSeconds','variants'} <= set(h) and all({'name','value','ciLow','ciHigh','exposures'} <= set(v) for v in h['variants'])
sys.exit(0 if ok and j['result']['verdict'] == 'promote' else 1)"
expect_rc "the public address answers c" c "$(curl -s "$PUB/")"
grep -q split_clients "$T/shop/.cratis/run/staging/shop/Rollout-web/router/nginx.conf"
check "the split is removed" test $? = 1
C rollout status -o json >"$T/rs2.json" 2>&1
expect_rc "c is active, a is the hot previous release" "c:active a:previous" "$(jget "$T/rs2.json" '" ".join(r["colour"] + ":" + r["status"] for r in j if r["status"] in ("active", "previous")).replace("blue", "a")')"
bport=$(jget "$T/s4.json" '[v["port"] for v in j["variants"] if v["name"] == "b"][0]')
check "the loser b is stopped" sh -c "! curl -s --max-time 2 http://127.0.0.1:$bport/health"
C plan --detailed-exitcode >"$T/plan.out" 2>&1
expect_rc "plan after the conclusion: no changes (the winner stands for the template)" 0 $?
C events list -o json >"$T/ev.json" 2>&1
check "events: started, stages and concluded" python3 -c "
import json,sys
t=[e['type'] for e in json.load(open('$T/ev.json'))]
sys.exit(0 if {'dev.cratis.experiment.started','dev.cratis.experiment.stage','dev.cratis.experiment.concluded','dev.cratis.experiment.aborted'} <= set(t) else 1)"
C history >"$T/hist" 2>&1

C destroy --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "no app process left" test -z "$(own_procs experiment_app.py)"
C experiment status >"$T/s9.out" 2>&1
expect_in "the record is gone with the Experiment" "has not been started" "$T/s9.out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
