#!/bin/sh
# An A/A experiment (issue 12): two identical variants (/buy succeeds with 20% in both) under the
# real dealer, `until: max`: the decision loop runs to the maximum duration and keeps the control
# with "no significant difference" (alpha 0.01: a false promotion, which the sequential test
# keeps below alpha, would fail this test); the split is removed, the variant stopped, the control still
# the one active release. Promotion is manual here, which changes nothing for keep-control.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/experiment_lib.sh"
P="$T/shop"
mkdir -p "$P"
write_project "$P/shop.yaml" '  rollout: web
  variants:
    - {name: a, control: true}
    - {name: b, variables: {VARIANT: b, BUY_P: "0.10"}}
  metrics:
    - {name: buy, kind: ratio, exposure: "/", conversion: "/buy"}
  objective: {metric: buy, direction: maximize}
  duration: {max: 8s}
  until: max
  alpha: 0.01
  promotion: manual'
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "apply starts the A/A experiment" 0 $?
rm -f "$T/stop"
python3 "$LOAD" "$PUB" 100 1 4 21 --until-file "$T/stop" 120 >"$T/l1.json" &
lp=$!
# Ctrl-C stops the loop (exit 130) and leaves the experiment running; a new run resumes it
"$CRATIS" experiment run -f "$P" --interval 0.5 >"$T/r0.out" 2>"$T/r0.err" &
rp=$!
wait_for 30 sh -c "'$CRATIS' experiment status -f '$P' -o json | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"history\"]) >= 2 else 1)'"
kill -INT "$rp"
wait "$rp"
expect_rc "experiment run interrupted by SIGINT" 130 $?
C experiment status -o json >"$T/s0.json" 2>&1
expect_rc "the experiment still runs" running "$(jget "$T/s0.json" 'j["status"]')"
C experiment run --interval 1 -o json >"$T/r1.json" 2>"$T/r1.err"
expect_rc "experiment run ends" 0 $?
touch "$T/stop"
wait "$lp"
expect_rc "no failed request" 0 "$(jget "$T/l1.json" 'j["failed"]')"
expect_rc "verdict keep-control, status concluded" "keep-control concluded" "$(jget "$T/r1.json" 'j["verdict"] + " " + j["status"]')"
check "the reason: no significant difference at the maximum duration" python3 -c "
import json,sys; r=json.load(open('$T/r1.json'))['reasons']; sys.exit(0 if any('no significant difference at' in x for x in r) else 1)"
check "it ran to max (8 s)" python3 -c "import json,sys; sys.exit(0 if json.load(open('$T/r1.json'))['elapsedSeconds'] >= 8 else 1)"
expect_rc "no winner" None "$(jget "$T/r1.json" 'j["winner"]')"
expect_rc "the public address answers the control" a "$(curl -s "$PUB/")"
grep -q split_clients "$P/.cratis/run/staging/shop/Rollout-web/router/nginx.conf"
check "the split is removed" test $? = 1
C rollout history -o json >"$T/rs.json" 2>&1
expect_rc "one active release, the control; the variant retired" "b:retired blue:active" "$(jget "$T/rs.json" '" ".join(sorted(r["colour"] + ":" + r["status"] for r in j if r["status"] in ("active", "retired", "variant")))')"
C experiment conclude checkout >"$T/c.out" 2>"$T/c.err"
expect_rc "conclude after the end is refused" 1 $?
expect_in "it says the experiment has ended" "has ended (concluded)" "$T/c.err"
if [ -n "${CRATIS_STATE:-}" ]; then # experiment_pg.sh
	check "the state went to CRATIS_STATE's store, not to SQLite" test ! -e "$P/.cratis/state.db"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
