#!/bin/sh
# Events (issue 13, the core half): every deployment, resource change and lock is a CloudEvent in
# the outbox, written with the change it describes; a file sink receives each event once, in
# order; a run killed with kill -9 after a commit and before delivery leaves its events in the
# outbox and the next run delivers them; no secret or sensitive value reaches an event (a plugin's
# own included); a release switch and its event commit together.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
SEC="sec-VAL-e91k"; OUT="out-SECRET-44zz"
export CRATIS_T_SEC="$SEC"
printf '%s\n' "$OUT" >"$T/out.src"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: ev}
spec:
  secrets:
    s: {env: CRATIS_T_SEC}
  events:
    sinks:
      - {name: log, type: file, path: $T/events.ndjson}
      - {name: failures, type: file, path: $T/failures.ndjson, types: ["dev.cratis.resource.failed"]}
---
apiVersion: exec/v1
kind: Task
metadata: {name: gen, project: ev}
spec:
  apply: [sh, -c, 'echo token=\$(cat $T/out.src)']
  outputs: [{name: token, sensitive: true}]
---
apiVersion: exec/v1
kind: Task
metadata: {name: use, project: ev}
spec:
  env: {TOKEN: "\${Task/gen.outputs.token}", K: "\${secret:s}"}
  apply: [sh, -c, 'test -n "\$TOKEN" && test -n "\$K"']
YAML
C() { "$CRATIS" "$@" -f "$P"; }
C apply --auto-approve >"$T/apply1.out" 2>&1; expect_rc "apply" 0 $?
C events list -o json >"$T/list.json" 2>"$T/list.err"; expect_rc "events list" 0 $?
types=$(jq -r '.[].type' "$T/list.json" | tr '\n' ' ')
expect_rc "lock, deployment and resource events in order" 0 "$([ "$types" = "dev.cratis.lock.taken dev.cratis.deployment.started dev.cratis.resource.changed dev.cratis.resource.changed dev.cratis.deployment.finished " ] && echo 0 || echo "1 ($types)")"
expect_in "subjects are resource addresses" "Task/gen Task/use" "$(printf '%s' "$(jq -r '[.[].subject | select(. != null)] | join(" ")' "$T/list.json")" >"$T/subjects"; echo "$T/subjects")"
expect_in "source names project and environment" '"/projects/ev/environments/dev"' "$T/list.json"
expect_in "finished carries the result and counts" '"succeeded": 2' "$T/list.json"
check "ids are UUID v4" sh -c "jq -r '.[].id' '$T/list.json' | grep -Evq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' && exit 1 || exit 0"
# the file sink got each event once, in the outbox's order, as CloudEvents JSON lines
jq -r '.[].id' "$T/list.json" >"$T/ids.outbox"
jq -r '.id' "$T/events.ndjson" >"$T/ids.file"
check "the file sink holds every event once, in order" cmp -s "$T/ids.outbox" "$T/ids.file"
expect_in "lines are CloudEvents 1.0" '"specversion":"1.0"' "$T/events.ndjson"
expect_rc "the file is private" 600 "$(stat -c %a "$T/events.ndjson")"
check "the filtered sink got none (no failure yet)" sh -c "test ! -s '$T/failures.ndjson'"
C events deliver >"$T/deliver.out" 2>&1; expect_rc "events deliver" 0 $?
expect_in "nothing left to deliver" "log: 0 delivered, 0 dead, 0 skipped, 0 left" "$T/deliver.out"
check "a second delivery sends nothing twice" sh -c "test \$(wc -l <'$T/events.ndjson') -eq \$(wc -l <'$T/ids.outbox')"
id2=$(sed -n 2p "$T/ids.outbox")
C events redeliver "$id2" >"$T/redeliver.out" 2>&1; expect_rc "events redeliver ID" 0 $?
expect_in "it resets that event's deliveries (one per sink)" "2 deliveries reset" "$T/redeliver.out"
C events deliver >"$T/deliver2.out" 2>&1
expect_in "the next delivery sends it again, once" "log: 1 delivered" "$T/deliver2.out"
check "the file got it a second time, same id" sh -c "test \$(grep -c '$id2' '$T/events.ndjson') -eq 2"
C events enable log >"$T/enable.out" 2>&1; expect_rc "events enable" 0 $?
sed -i '$d' "$T/events.ndjson" # back to one line per event for the checks below
C events sinks >"$T/sinks.out" 2>&1; expect_rc "events sinks" 0 $?
expect_in "sinks show their backlog" "log              file     enabled   0" "$T/sinks.out"
C events list --type 'dev.cratis.deployment.*' -o json >"$T/dep.json" 2>&1
expect_rc "a type filter" 2 "$(jq length "$T/dep.json")"
first=$(jq -r '.[0].seq' "$T/list.json")
C events list --since "$first" -o json >"$T/since.json" 2>&1
expect_rc "--since SEQ lists what follows it" 4 "$(jq length "$T/since.json")"
# no secret or sensitive value in any event, anywhere
for f in list.json events.ndjson; do
	expect_not_in "$f has no secret" "$SEC" "$T/$f"
	expect_not_in "$f has no sensitive output" "$OUT" "$T/$f"
done
# a failure: resource.failed with the error, its secret value scrubbed
cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: bad, project: ev}
spec:
  env: {K: "\${secret:s}"}
  apply: [sh, -c, 'test -e $T/fixed && exit 0; echo "cannot use \$K" >&2; exit 3']
YAML
C apply --auto-approve >"$T/apply2.out" 2>&1; expect_rc "a failing apply" 1 $?
C events list --type dev.cratis.resource.failed -o json >"$T/failed.json" 2>&1
expect_rc "one resource.failed" 1 "$(jq length "$T/failed.json")"
expect_in "it names the resource" '"subject": "Task/bad"' "$T/failed.json"
expect_in "it carries the error" 'exit' "$T/failed.json"
expect_not_in "the error is scrubbed of the secret" "$SEC" "$T/failed.json"
expect_rc "the filtered sink got exactly it" 1 "$(wc -l <"$T/failures.ndjson")"
expect_not_in "no secret in the sink" "$SEC" "$T/failures.ndjson"
# kill -9 after a commit, before delivery: a Task kills its cratis; the next run delivers
touch "$T/fixed"
cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: killer, project: ev}
spec:
  dependsOn: [Task/bad]
  apply: [sh, -c, 'test -e $T/killed && exit 0; touch $T/killed; kill -9 \$PPID; sleep 5']
YAML
before=$(wc -l <"$T/events.ndjson")
C apply --auto-approve >"$T/apply3.out" 2>&1
expect_rc "cratis was killed" 137 $?
C events list -o json >"$T/list3.json" 2>&1
check "Task/bad's change is in the outbox" sh -c "jq -e '[.[] | select(.type == \"dev.cratis.resource.changed\" and .subject == \"Task/bad\")] | length == 1' '$T/list3.json' >/dev/null"
expect_not_in "but was not delivered before the kill" '"type":"dev.cratis.resource.changed","subject":"Task/bad"' "$T/events.ndjson"
C apply --auto-approve >"$T/apply4.out" 2>&1; expect_rc "the next run" 0 $?
C events list -o json >"$T/list4.json" 2>&1
jq -r '.[].id' "$T/list4.json" >"$T/ids4.outbox"
jq -r '.id' "$T/events.ndjson" >"$T/ids4.file"
check "after the kill every event is delivered once, in order" cmp -s "$T/ids4.outbox" "$T/ids4.file"
expect_in "the killed run's change is delivered now" '"type":"dev.cratis.resource.changed","subject":"Task/bad"' "$T/events.ndjson"
check "the killed run's events are among them" sh -c "[ \$(wc -l <'$T/events.ndjson') -gt $before ]"
# a unit that fails to commit leaves no event: the database refuses Task/nocommit's step
sqlite3 "$P/.cratis/state.db" "CREATE TRIGGER refuse BEFORE INSERT ON steps WHEN NEW.resource = 'Task/nocommit' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
cat >>"$P/m.yaml" <<YAML
---
apiVersion: exec/v1
kind: Task
metadata: {name: nocommit, project: ev}
spec:
  apply: [sh, -c, 'true']
YAML
C apply --auto-approve >"$T/apply5.out" 2>&1; expect_rc "an apply whose record fails" 1 $?
expect_in "it says the outcome was not recorded" "could not be recorded" "$T/apply5.out"
C events list -o json >"$T/list5.json" 2>&1
check "no event for the change that did not commit" sh -c "! grep -q '\"subject\": \"Task/nocommit\"' '$T/list5.json'"
expect_in "its deployment still finished (as failed)" '"result": "failed"' "$T/list5.json"
sqlite3 "$P/.cratis/state.db" "DROP TRIGGER refuse;"
C apply --auto-approve >"$T/apply6.out" 2>&1; expect_rc "the next apply settles it" 0 $?
C events list --type dev.cratis.resource.changed -o json >"$T/list6.json" 2>&1
check "and records its event once" sh -c "test \$(grep -c '\"subject\": \"Task/nocommit\"' '$T/list6.json') -eq 1"
C events list -o json >"$T/list4.json" 2>&1
# events tail follows the outbox from a sequence number until SIGTERM
last=$(jq -r '.[-1].seq' "$T/list4.json")
"$CRATIS" events tail --since "$last" -o json -f "$P" >"$T/tail.out" 2>"$T/tail.err" &
tailpid=$!
C destroy --auto-approve >"$T/destroy.out" 2>&1; expect_rc "destroy" 0 $?
check "tail prints the destroy's events as they come" wait_for 20 grep -q '"type":"dev.cratis.deployment.finished"' "$T/tail.out"
kill -TERM "$tailpid"; wait "$tailpid"; expect_rc "SIGTERM ends events tail" 0 $?
expect_in "tail shows the deletes" '"data":{"action":"delete","resource":"Task/gen"' "$T/tail.out"
check "tail starts after --since" sh -c "! grep -q '\"seq\":$last,' '$T/tail.out' && ! grep -q '\"seq\":$last}' '$T/tail.out'"
expect_in "destroy delivered its events too" '"data":{"action":"delete","resource":"Task/gen"' "$T/events.ndjson"
# a plugin's own events (host->emit) are written with its resource's unit
BUILD=${CRATIS_BUILD_DIR:-$SRC/build}
P2="$T/probe"
mkdir -p "$P2"
cat >"$P2/cratis.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: box}
spec: {type: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [box]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
---
apiVersion: probe/v1
kind: Probe
metadata: {name: p1, project: demo}
spec: {system: box, record: "$T/requests.jsonl"}
YAML
CRATIS_PLUGIN_PATH="$BUILD/tests/plugins/abi12" "$CRATIS" apply -f "$P2" --auto-approve >"$T/probe.out" 2>&1
expect_rc "apply with a plugin that emits" 0 $?
"$CRATIS" events list -f "$P2" -o json >"$T/probe.json" 2>&1
check "its event follows its resource.changed, in the same deployment" sh -c "jq -e '[.[] | select(.subject == \"Probe/p1\") | .type] == [\"dev.cratis.resource.changed\", \"probe.applied\"]' '$T/probe.json' >/dev/null"
expect_in "with the plugin's data" '"name": "p1"' "$T/probe.json"
expect_not_in "an event the host refused is not recorded" "probe.bad" "$T/probe.json"
# what a plugin emits is scrubbed of the secret and sensitive values it was given, in the outbox
# and in a sink
P6="$T/said"
mkdir -p "$P6"
cat >"$P6/cratis.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: box}
spec: {type: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [box]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  secrets:
    s: {env: CRATIS_T_SEC}
  events:
    sinks:
      - {name: log, type: file, path: $T/said.ndjson}
---
apiVersion: exec/v1
kind: Task
metadata: {name: gen, project: demo}
spec:
  apply: [sh, -c, 'echo token=\$(cat $T/out.src)']
  outputs: [{name: token, sensitive: true}]
---
apiVersion: probe/v1
kind: Probe
metadata: {name: secret, project: demo}
spec: {system: box, record: "$T/said-requests.jsonl", say: "key \${secret:s} end"}
---
apiVersion: probe/v1
kind: Probe
metadata: {name: output, project: demo}
spec: {system: box, record: "$T/said-requests.jsonl", say: "token \${Task/gen.outputs.token} end"}
YAML
CRATIS_PLUGIN_PATH="$BUILD/tests/plugins/abi12" "$CRATIS" apply -f "$P6" --auto-approve >"$T/said.out" 2>&1
expect_rc "apply with a plugin that emits what it was given" 0 $?
"$CRATIS" events list -f "$P6" --type probe.said -o json >"$T/said.json" 2>&1
expect_rc "both emitted events are recorded" 2 "$(jq length "$T/said.json")"
# the plugin got the values in clear (a reference would pass through unchanged): each stands
# replaced by the marker where it was, nested values too
expect_in "the secret is replaced where it stood" '"said": "key (sensitive) end"' "$T/said.json"
expect_in "the sensitive output too" '"said": "token (sensitive) end"' "$T/said.json"
expect_in "in nested values as well" '"values":["key (sensitive) end"]' "$T/said.ndjson"
for f in said.json said.ndjson; do
	expect_not_in "$f: no secret in a plugin's event" "$SEC" "$T/$f"
	expect_not_in "$f: no sensitive output in a plugin's event" "$OUT" "$T/$f"
done
check "the sink got both" test "$(grep -c '"type":"probe.said"' "$T/said.ndjson")" -eq 2
# a plan whose refresh finds drift records drift.detected (its own unit), one per drifted resource
P4="$T/drift"
mkdir -p "$P4"
cat >"$P4/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: dr}
---
apiVersion: file/v1
kind: File
metadata: {name: page, project: dr}
spec: {path: page.txt, content: "hello\\n"}
YAML
"$CRATIS" apply -f "$P4" --auto-approve >"$T/drift.apply" 2>&1; expect_rc "apply a File" 0 $?
"$CRATIS" plan -f "$P4" >"$T/drift.plan0" 2>&1
"$CRATIS" events list -f "$P4" --type dev.cratis.drift.detected -o json >"$T/drift0.json" 2>&1
expect_rc "no drift, no event" 0 "$(jq length "$T/drift0.json")"
echo changed >"$P4/page.txt"
"$CRATIS" plan -f "$P4" --detailed-exitcode >"$T/drift.plan" 2>&1; expect_rc "plan sees the drift" 2 $?
"$CRATIS" events list -f "$P4" --type dev.cratis.drift.detected -o json >"$T/drift.json" 2>&1
expect_rc "one drift.detected" 1 "$(jq length "$T/drift.json")"
expect_in "about the File" '"subject": "File/page"' "$T/drift.json"
expect_in "with the plan's action" '"action": "update"' "$T/drift.json"
# sinks are strict fields; a webhook secret is a reference, read only when delivering
P3="$T/conf"
mkdir -p "$P3"
cat >"$P3/m.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: conf}
spec:
  secrets:
    hook: {env: CRATIS_T_UNSET_HOOK}
  events:
    sinks:
      - {name: chat, type: webhook, url: "http://127.0.0.1:9/", secret: "\${secret:hook}"}
      - {name: bad, type: file, path: x, colour: red}
      - {name: lit, type: webhook, url: "http://127.0.0.1:9/", secret: whsec_literal}
YAML
"$CRATIS" validate -f "$P3" >"$T/conf.out" 2>&1; expect_rc "invalid sinks" 1 $?
expect_in "an unknown field is located" "m.yaml:10:50: spec.events.sinks[1].colour: unknown field 'colour'" "$T/conf.out"
expect_in "a literal secret is refused, located" "m.yaml:11:72: spec.events.sinks[2].secret" "$T/conf.out"
expect_in "naming what is expected" 'spec.events.sinks[2].secret: expected a reference "${secret:NAME}"' "$T/conf.out"
sed -i '/name: bad/d; /name: lit/d' "$P3/m.yaml"
"$CRATIS" events sinks -f "$P3" >"$T/conf.sinks" 2>&1; expect_rc "events sinks with a webhook" 0 $?
expect_in "lists it" "chat             webhook  enabled" "$T/conf.sinks"
"$CRATIS" events deliver -f "$P3" >"$T/conf.deliver" 2>&1; expect_rc "deliver" 0 $?
expect_in "an unreadable secret keeps the sink's events pending, saying why" "secret 'hook' of sink 'chat'" "$T/conf.deliver"
# a release switch and its rollout.promoted event are one transaction: a promote whose event the
# database refuses switches nothing (the release it promoted stays the active one in the store)
P5="$T/shop"
cp -r "$SRC/examples/rollout" "$P5"
rm -rf "$P5/.cratis"
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P5/shop.yaml"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
R() { "$CRATIS" "$@" -f "$P5"; }
stop_shop() { R destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_shop"
active() { R rollout history -o json 2>/dev/null | python3 -c "import json,sys; print(' '.join(r['release'] for r in json.load(sys.stdin) if r['status'] == 'active'))"; }
promoted() { R events list --type dev.cratis.rollout.promoted -o json 2>/dev/null | jq -r '[.[].data.release] | join(" ")'; }
APP_VERSION=v1 R apply --auto-approve >"$T/shop1.out" 2>&1; expect_rc "a rollout's first release" 0 $?
R rollout promote >"$T/promote1.out" 2>&1; expect_rc "rollout promote" 0 $?
r1=$(active)
check "one release is active" test -n "$r1"
expect_rc "the promote recorded rollout.promoted for it" 0 "$([ "$(promoted)" = "$r1" ] && echo 0 || echo "1 ($(promoted) vs $r1)")"
R events list --type dev.cratis.rollout.promoted -o json >"$T/promoted1.json" 2>&1
expect_in "subject is the Rollout" '"subject": "Rollout/web"' "$T/promoted1.json"
# the promote is a deployment of its own: started, the switch, finished
R events list -o json 2>/dev/null | jq -r '.[].type' | tail -3 | tr '\n' ' ' >"$T/promote.types"
expect_in "promote is a deployment with its started and finished events" \
	"dev.cratis.deployment.started dev.cratis.rollout.promoted dev.cratis.deployment.finished" "$T/promote.types"
APP_VERSION=v2 R apply --auto-approve >"$T/shop2.out" 2>&1; expect_rc "a second release in preview" 0 $?
sqlite3 "$P5/.cratis/state.db" "CREATE TRIGGER refuse_promoted BEFORE INSERT ON events WHEN NEW.type = 'dev.cratis.rollout.promoted' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
R rollout promote >"$T/promote2.out" 2>&1
check "a promote whose event is refused fails" test $? -ne 0
expect_in "saying the switch was not recorded" "refused by the test" "$T/promote2.out"
expect_rc "the switch did not happen: the first release is still the active one" 0 "$([ "$(active)" = "$r1" ] && echo 0 || echo "1 ($(active))")"
expect_rc "and no rollout.promoted for the second" 0 "$([ "$(promoted)" = "$r1" ] && echo 0 || echo "1 ($(promoted))")"
sqlite3 "$P5/.cratis/state.db" "DROP TRIGGER refuse_promoted;"
APP_VERSION=v2 R apply --auto-approve >"$T/promote3.out" 2>&1; expect_rc "the next run" 0 $?
expect_in "settles the interrupted switch" "settling a switch between releases that was interrupted" "$T/promote3.out"
r2=$(active)
check "switching to the second release" sh -c "[ -n '$r2' ] && [ '$r2' != '$r1' ]"
expect_rc "with its event, once" 0 "$([ "$(promoted)" = "$r1 $r2" ] && echo 0 || echo "1 ($(promoted))")"
finish
