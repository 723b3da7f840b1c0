#!/bin/sh
# cratis validate (issue 10): offline checks only. Valid manifests exit 0; strict fields,
# references, cycles and a plugin's validate op make it exit 1 with located diagnostics; -o json
# prints the diagnostics list (parsed with python3, and jq when installed); every environment is
# checked when none is named; no state directory or state.db is created and no plugin op other
# than validate is called.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P" "$T/pl"
# the example exec plugin, recording every op it is asked for
cp -r "$SRC/examples/plugins/notes" "$T/pl/"
python3 - "$T/pl/notes/notes.py" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('        msg = json.loads(line)\n',
              '        msg = json.loads(line)\n        open(os.environ["OPLOG"], "a").write(msg["op"] + "\\n")\n', 1)
open(p, "w").write(s)
PY
export CRATIS_PLUGIN_PATH="$T/pl"
export OPLOG="$T/ops.log"
demo_core "$P/core.yaml"
cat >>"$P/core.yaml" <<'YAML'
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
  variables: {greeting: hi}
YAML
# Project demo lists both environments
sed -i 's/^metadata: {name: demo}$/metadata: {name: demo}\nspec: {environments: [staging, production]}/' "$P/core.yaml"
cat >"$P/app.yaml" <<'YAML'
apiVersion: notes/v1
kind: Note
metadata: {name: hello, project: demo}
spec:
  path: hello.txt
  text: "hello"
---
apiVersion: exec/v1
kind: Task
metadata: {name: build, project: demo}
spec:
  apply: [echo, "${Note/hello.outputs.path}"]
YAML
cd "$P" || exit 1

"$CRATIS" validate >"$T/ok.out" 2>"$T/ok.err"
expect_rc "valid manifests" 0 $?
expect_in "says so with what was checked" "The manifests are valid: 6 documents, 2 resources; environments checked: staging, production." "$T/ok.out"
"$CRATIS" validate -o json >"$T/ok.json" 2>&1
expect_rc "valid manifests, -o json" 0 $?
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == []; print("ok")' "$T/ok.json" >"$T/ok.py" 2>&1
expect_in "an empty diagnostics list" "ok" "$T/ok.py"
check "no state directory was created" test ! -e "$P/.cratis"
check "no state.db anywhere" test -z "$(find "$T" -name 'state.db*')"
check "the plugin was asked to validate" grep -qx validate "$T/ops.log"
if grep -v -x -e handshake -e validate "$T/ops.log" >"$T/other.ops"; then
	fail "no op other than validate: $(tr '\n' ' ' <"$T/other.ops")"
else
	ok "no op other than validate"
fi

# a variable one environment lacks: every environment is checked when none is named
cat >>"$P/app.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: greet, project: demo}
spec:
  apply: [echo, "${greeting}"]
  timeoutSeconds: 5
YAML
"$CRATIS" validate >"$T/env.out" 2>"$T/env.err"
expect_rc "a variable staging does not define" 1 $?
expect_in "is found" "app.yaml:18:18: spec.apply[1]: unknown variable 'greeting'" "$T/env.err"
"$CRATIS" validate --env production >"$T/prod.out" 2>&1
expect_rc "--env production alone is valid" 0 $?
expect_in "and names it" "environments checked: production" "$T/prod.out"

# strict fields, a plugin's validate op, a dependency cycle
cat >"$P/app.yaml" <<'YAML'
apiVersion: notes/v1
kind: Note
metadata: {name: hello, project: demo}
spec:
  path: hello.txt
---
apiVersion: exec/v1
kind: Task
metadata: {name: a, project: demo}
spec:
  apply: [true]
  dependsOn: [Task/b]
  timeoutSecond: 5
---
apiVersion: exec/v1
kind: Task
metadata: {name: b, project: demo}
spec:
  apply: [true]
  dependsOn: [Task/a]
YAML
"$CRATIS" validate --env staging >"$T/bad.out" 2>"$T/bad.err"
expect_rc "invalid manifests" 1 $?
expect_in "an unknown field with its hint" "app.yaml:13:18: spec.timeoutSecond: unknown field 'timeoutSecond' of Task (exec/v1)" "$T/bad.err"
expect_in "did you mean" "hint: did you mean 'timeoutSeconds'?" "$T/bad.err"
"$CRATIS" validate --env staging -f "$P" -o json >"$T/bad.json" 2>/dev/null
expect_rc "invalid manifests, -o json" 1 $?
python3 - "$T/bad.json" <<'PY' >"$T/bad.py" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
m = [x for x in d if x["field"] == "spec.timeoutSecond"]
assert m and m[0]["severity"] == "error" and m[0]["line"] == 13 and m[0]["column"] == 18, d
assert m[0]["hint"] == "did you mean 'timeoutSeconds'?" and m[0]["file"].endswith("app.yaml"), m
print("json ok")
PY
expect_in "the diagnostics list parses, located" "json ok" "$T/bad.py"
if command -v jq >/dev/null 2>&1; then
	n=$(jq '[.[] | select(.severity == "error")] | length' "$T/bad.json")
	check "jq reads it too ($n errors)" test "$n" -ge 1
else
	ok "jq is not installed: python3 checked the JSON"
fi
# fix the strict field: the plugin's validate op and the cycle are reported
sed -i 's/timeoutSecond: 5/timeoutSeconds: 5/' "$P/app.yaml"
"$CRATIS" validate --env staging >"$T/deep.out" 2>"$T/deep.err"
expect_rc "a plugin's validate and a cycle" 1 $?
expect_in "the plugin's validate op, located" "app.yaml:4:1: spec.text: Note/hello: plugin 'notes': missing field or not a string" "$T/deep.err"
expect_in "the cycle" "dependency cycle: Task/" "$T/deep.err"
check "still no state directory" test ! -e "$P/.cratis"
"$CRATIS" validate extra >/dev/null 2>&1
expect_rc "a stray argument is a usage error" 64 $?
finish
