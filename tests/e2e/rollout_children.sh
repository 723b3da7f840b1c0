#!/bin/sh
# A Rollout's children (docs/releases.md "Child resources"): every release process is a
# Service/web.RELEASE and the router a Route/web, owned by Rollout/web, in state list, get,
# state show, -o json and outputs; plan refreshes each child through the Service handler and
# apply repairs that child alone (no new release); destroy removes the Route, then the Services,
# then the Rollout; state rm/mv and manifests cannot act on a child alone; -target of a child
# acts through its owner; kill -9 during promote, in a bounded loop, never leaves a child
# without its running release or the reverse (ROLLOUT_CHILDREN_KILLS, default 12, seeded).
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/rollout" "$P"
rm -rf "$P/.cratis"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

# children FILE (cratis state list -o json): "ID OWNER" per child, sorted
children() { python3 -c "import json,sys; [print(r['id'], r['owner']) for r in json.load(open(sys.argv[1])) if 'owner' in r]" "$1"; }
# running FILE (cratis rollout history -o json): "Service/web.ID" per release whose process runs
running() { python3 -c "import json,sys; [print('Service/web.' + r['release']) for r in json.load(open(sys.argv[1])) if r['status'] in ('active','preview','previous','promoting','retiring','failing','variant')]" "$1" | sort; }

APP_VERSION=v1 C apply --auto-approve >/dev/null 2>"$T/a1.err"
expect_rc "v1 released" 0 $?
APP_VERSION=v2 C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "v2 released" 0 $?
C rollout history -o json >"$T/h.json"
R1=$(python3 -c "import json,sys; print([r['release'] for r in json.load(open(sys.argv[1])) if r['status']=='previous'][0])" "$T/h.json")
R2=$(python3 -c "import json,sys; print([r['release'] for r in json.load(open(sys.argv[1])) if r['status']=='active'][0])" "$T/h.json")

# 1. recorded children, with their owner
C state list >"$T/list.txt"
expect_in "state list: the active release's Service, owned" "shop/Service/web.$R2	ready	owned by Rollout/web" "$T/list.txt"
expect_in "state list: the previous release's Service, owned" "shop/Service/web.$R1	ready	owned by Rollout/web" "$T/list.txt"
expect_in "state list: the Route, owned" "shop/Route/web	ready	owned by Rollout/web" "$T/list.txt"
C state list -o json >"$T/list.json"
children "$T/list.json" >"$T/children.txt"
expect_rc "state list -o json: three children" 3 "$(wc -l <"$T/children.txt")"
C get >"$T/get.txt"
expect_in "get: a child with its owner" "owned by Rollout/web" "$T/get.txt"
expect_not_in "get: a child is not an orphan" "orphaned" "$T/get.txt"
C get -o json >"$T/get.json"
check "get -o json: the child's outputs (port, release, status)" python3 -c "
import json,sys
c = [r for r in json.load(open(sys.argv[1])) if r['id'] == 'Service/web.' + sys.argv[2]][0]
assert c['owner'] == 'Rollout/web' and c['outputs']['release'] == sys.argv[2] and c['outputs']['status'] == 'active' and c['outputs']['port'] > 0, c
" "$T/get.json" "$R2"
C state show "Service/web.$R2" -o json >"$T/show.json"
check "state show of a child: its spec (the Service it runs) and outputs" python3 -c "
import json,sys
c = json.load(open(sys.argv[1]))
assert c['owner'] == 'Rollout/web' and c['apiVersion'] == 'service/v1', c
assert c['spec']['command'][-1] == 'v2' and c['spec']['env']['PORT'] == str(c['outputs']['port']), c
" "$T/show.json"
C state show Route/web -o json >"$T/route.json"
check "state show of the Route: one upstream per live child, 100/0" python3 -c "
import json,sys
c = json.load(open(sys.argv[1]))
w = {u['service']: u['weight'] for u in c['spec']['upstreams']}
assert w == {'Service/web.' + sys.argv[2]: 100, 'Service/web.' + sys.argv[3]: 0}, w
" "$T/route.json" "$R2" "$R1"

# 2. drift per child: the active release's process dies
APP_VERSION=v2 C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "plan converges before" 0 $?
PORT2=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['outputs']['port'])" "$T/show.json")
for pid in $(own_procs "http[.]server $PORT2 "); do kill "$pid"; done
wait_for 10 sh -c "! curl -sf http://127.0.0.1:$PORT2/ >/dev/null"
APP_VERSION=v2 C plan -o json >"$T/plan.json" 2>/dev/null
check "plan: drift on the child, owned by Rollout/web; the Rollout itself unchanged" python3 -c "
import json,sys
d = {r['id']: r for r in json.load(open(sys.argv[1]))['resources']}
c = d['Service/web.' + sys.argv[2]]
assert c['action'] == 'update' and '(owned by Rollout/web)' in c['reason'] and 'not running' in c['reason'], c
assert d['Rollout/web']['action'] == 'no-op', d['Rollout/web']
assert d.get('Service/web.' + sys.argv[3], {'action': 'no-op'})['action'] == 'no-op'
" "$T/plan.json" "$R2" "$R1"
APP_VERSION=v2 C apply --auto-approve >"$T/repair.out" 2>"$T/repair.err"
expect_rc "apply repairs the child" 0 $?
expect_in "apply: the child was updated" "Service/web.$R2: updated" "$T/repair.err"
check "the same release answers again on its own port" sh -c "curl -sf http://127.0.0.1:$PORT2/ | grep -q v2"
check "the public port serves v2" sh -c "curl -sf http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/ | grep -q v2"
C rollout history -o json >"$T/h2.json"
expect_rc "no new release" "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/h.json")" "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$T/h2.json")"
APP_VERSION=v2 C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "plan converges after the repair" 0 $?

# a saved plan repairs the child it planned, without re-planning
PORT1=$(python3 -c "import json,sys; print([r for r in json.load(open(sys.argv[1])) if r['id'] == 'Service/web.' + sys.argv[2]][0]['outputs']['port'])" "$T/get.json" "$R1")
for pid in $(own_procs "http[.]server $PORT1 "); do kill "$pid"; done
wait_for 10 sh -c "! curl -sf http://127.0.0.1:$PORT1/ >/dev/null"
APP_VERSION=v2 C plan -out "$T/tfplan" >"$T/sp.out" 2>&1
expect_rc "plan -out with a drifted child" 0 $?
expect_in "the saved plan repairs the previous release's child" "Service/web.$R1" "$T/sp.out"
APP_VERSION=v2 "$CRATIS" apply "$T/tfplan" >/dev/null 2>"$T/sa.err"
expect_rc "apply of the saved plan" 0 $?
check "the previous release answers again (instant rollback stays possible)" sh -c "curl -sf http://127.0.0.1:$PORT1/ | grep -q v1"

# the Route's drift: cratis' nginx stopped is drift of Route/web alone, repaired alone
NPID=$(cut -d' ' -f1 "$P/.cratis/run/staging/shop/Rollout-web/router/nginx.pid.cratis")
kill "$NPID"
wait_for 10 sh -c "! curl -sf http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/ >/dev/null"
APP_VERSION=v2 C plan -o json >"$T/rplan.json" 2>/dev/null
check "plan: drift on the Route child, the Rollout unchanged" python3 -c "
import json,sys
d = {r['id']: r for r in json.load(open(sys.argv[1]))['resources']}
assert d['Route/web']['action'] == 'update' and d['Route/web']['reason'] == 'drift: (owned by Rollout/web) nginx is not running', d['Route/web']
assert d['Rollout/web']['action'] == 'no-op' and not [k for k in d if k.startswith('Service/')], d
" "$T/rplan.json"
APP_VERSION=v2 C apply --auto-approve >/dev/null 2>"$T/rrepair.err"
expect_rc "apply repairs the Route" 0 $?
check "the public port serves v2 again" sh -c "curl -sf http://127.0.0.1:$ROLLOUT_ACTIVE_PORT/ | grep -q v2"
APP_VERSION=v2 C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "plan converges after the Route's repair" 0 $?

# 3. lifecycle: a child cannot be acted on alone
C state rm "Service/web.$R1" >/dev/null 2>"$T/rm1.err"
expect_rc "state rm of a child alone is refused" 1 $?
expect_in "state rm: says whose child it is" "is a child resource of Rollout/web" "$T/rm1.err"
C state rm Rollout/web >/dev/null 2>"$T/rm2.err"
expect_rc "state rm of an owner with children is refused" 1 $?
expect_in "state rm: names a child" "has child resources" "$T/rm2.err"
C state mv Rollout/web Rollout/shop >/dev/null 2>"$T/mv.err"
expect_rc "state mv of an owner with children is refused" 1 $?
APP_VERSION=v2 C plan -target "Service/web.$R1" -o json >"$T/tplan.json" 2>"$T/tplan.err"
expect_rc "plan -target a child" 0 $?
expect_in "-target of a child acts through its owner" "acts through its owner" "$T/tplan.err"
check "the targeted plan covers the owner" python3 -c "
import json,sys
d = json.load(open(sys.argv[1]))
assert 'Rollout/web' in [r['id'] for r in d['resources']] and d['targets'] == ['Rollout/web'], d
" "$T/tplan.json"
cp -r "$P" "$T/clash"
cat >>"$T/clash/shop.yaml" <<YAML
---
apiVersion: router/v1
kind: Route
metadata: {name: web}
spec: {listen: 1, upstream: "127.0.0.1:2"}
YAML
APP_VERSION=v2 "$CRATIS" plan -f "$T/clash" --state-dir "$P/.cratis" >/dev/null 2>"$T/clash.err"
expect_rc "a manifest declaring a child's id (the Rollout's Route) is refused" 1 $?
expect_in "the refusal names the owner" "is a child resource of Rollout/web" "$T/clash.err"
rm -rf "$T/clash"

# kill -9 during promote: never a child without its running release or the reverse
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P/shop.yaml"
N=${ROLLOUT_CHILDREN_KILLS:-12}
DELAYS=$(python3 -c "import random; r=random.Random(7); print(' '.join(str(r.randint(0, 600)) for _ in range($N)))")
bad=0
i=3
for d in $DELAYS; do
	APP_VERSION="v$i" C apply --auto-approve >/dev/null 2>"$T/k.err" || { bad=$((bad + 1)); echo "apply v$i failed"; cat "$T/k.err"; }
	"$CRATIS" rollout promote -f "$P" >/dev/null 2>&1 &
	pp=$!
	sleep "$(python3 -c "print($d / 1000)")"
	kill -9 "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null
	C state list -o json >"$T/k.json" 2>/dev/null
	C rollout history -o json >"$T/kh.json" 2>/dev/null
	children "$T/k.json" | grep '^Service/' | cut -d' ' -f1 | sort >"$T/kc.txt"
	running "$T/kh.json" >"$T/kr.txt"
	if ! cmp -s "$T/kc.txt" "$T/kr.txt"; then
		bad=$((bad + 1)); echo "kill after ${d}ms: children and running releases differ"; diff "$T/kc.txt" "$T/kr.txt"
	fi
	i=$((i + 1))
done
APP_VERSION="v$i" C apply --auto-approve >/dev/null 2>&1
expect_rc "the run after the last kill settles" 0 $?
expect_rc "bad outcomes in $N kills" 0 "$bad"

# destroy: the Route, then each Service, then the Rollout
C destroy --auto-approve >"$T/d.out" 2>"$T/d.err"
expect_rc "destroy" 0 $?
check "destroy order: Route, then Services, then Rollout" python3 -c "
import sys
lines = [l for l in open(sys.argv[1]) if l.rstrip().endswith(': deleting')]
ids = [l.split(':')[0] for l in lines]
route, rollout = ids.index('Route/web'), ids.index('Rollout/web')
svcs = [k for k, x in enumerate(ids) if x.startswith('Service/web.')]
assert svcs and route < min(svcs) and max(svcs) < rollout, ids
" "$T/d.err"
C state list -o json >"$T/end.json"
expect_rc "no child left" 0 "$(children "$T/end.json" | wc -l)"
expect_rc "no release process left" 0 "$(own_procs 'http[.]server' | wc -l)"
finish
