#!/bin/sh
# Values in plans (issue 10): each changed field with its old and new value (nested paths with
# dots and [i], added and removed fields), multi-line text as a unified diff of its lines, secrets
# as (sensitive), values another resource produces during apply as (known after apply); the JSON
# plan's resource_changes[].change with before/after; the markdown plan's diff per resource in a
# <details> block.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
SECRET="pw-plan-Qx71v"
export CRATIS_T_PW="$SECRET"
write() { # PORT OLDKEY LINE2 TAIL VERSION
	cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  secrets:
    pw: {env: CRATIS_T_PW}
---
apiVersion: exec/v1
kind: Task
metadata: {name: web, project: demo}
spec:
  system: local
  apply: [sh, -c, "echo v=$5", x$4]
  outputs: [v]
  env: {PORT: "$1", $2: "1", PW: "\${secret:pw}"}
---
apiVersion: exec/v1
kind: Task
metadata: {name: use, project: demo}
spec:
  system: local
  apply: [sh, -c, "exit 0", "\${Task/web.outputs.v}"]
---
apiVersion: file/v1
kind: File
metadata: {name: conf, project: demo}
spec:
  system: local
  path: conf.txt
  content: |
    one
    $3
    three
    four
    five
    six
    seven
    eight
    nine
    ten
YAML
}
write 8080 OLD two ", y" 1
"$CRATIS" apply -f "$P" --auto-approve >"$T/a1" 2>&1
expect_rc "first apply" 0 $?
CRATIS_T_PW="pw-plan-changed-Zz90" ; export CRATIS_T_PW
write 8081 NEW TWO "" 2
"$CRATIS" plan -f "$P" >"$T/plan" 2>"$T/plan.err"
expect_rc "plan" 0 $?
expect_in "a changed value, old → new" '~ spec.env.PORT: "8080" → "8081"' "$T/plan"
expect_in "an added field" '+ spec.env.NEW: "1"' "$T/plan"
expect_in "a removed field" '- spec.env.OLD: "1"' "$T/plan"
expect_in "an array element by index" '- spec.apply[4]: "y"' "$T/plan"
expect_in "an array element changed" '~ spec.apply[2]: "echo v=1" → "echo v=2"' "$T/plan"
expect_in "a secret is (sensitive)" '~ spec.env.PW: (sensitive) → (sensitive)' "$T/plan"
expect_in "an output to come is (known after apply)" '~ spec.apply[3]: "1" → (known after apply)' "$T/plan"
expect_in "multi-line text: a hunk" '@@ -1,5 +1,5 @@' "$T/plan"
expect_in "multi-line text: the removed line" '          -two' "$T/plan"
expect_in "multi-line text: the added line" '          +TWO' "$T/plan"
expect_in "multi-line text: context" '           three' "$T/plan"
expect_not_in "no line beyond the context" 'nine' "$T/plan"
for f in plan plan.err; do
	expect_not_in "no secret value in $f" "$SECRET" "$T/$f"
	expect_not_in "no new secret value in $f" "pw-plan-changed" "$T/$f"
	expect_not_in "no hash in $f" "hmac-sha256" "$T/$f"
done

# JSON: format_version, the former fields, and Terraform's resource_changes[].change
"$CRATIS" plan -f "$P" -o json >"$T/plan.json" 2>"$T/plan.json.err"
expect_rc "plan -o json" 0 $?
python3 - "$T/plan.json" >"$T/check" 2>&1 <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
bad = []
def want(name, cond):
    if not cond: bad.append(name)
want("format_version", p.get("format_version") == "1.0")
want("cratis_version", isinstance(p.get("cratis_version"), str))
want("environment", "environment" in p)
want("summary", p["summary"]["update"] == 3)
res = {r["id"]: r for r in p["resources"]}
want("resources keep id/action/changes", res["Task/web"]["action"] == "update" and "spec.env.PORT" in res["Task/web"]["changes"])
rc = {r["address"]: r for r in p["resource_changes"]}
web = rc["Task/web"]
want("type and name", web["type"] == "Task" and web["name"] == "web" and web["project"] == "demo")
c = web["change"]
want("actions", c["actions"] == ["update"])
want("before", c["before"]["env"]["PORT"] == "8080" and c["before"]["env"]["OLD"] == "1")
want("after", c["after"]["env"]["PORT"] == "8081" and "OLD" not in c["after"]["env"])
want("sensitive shown as (sensitive)", c["before"]["env"]["PW"] == "(sensitive)" and c["after"]["env"]["PW"] == "(sensitive)")
want("before_sensitive", c["before_sensitive"] == {"env": {"PW": True}})
want("after_sensitive", c["after_sensitive"] == {"env": {"PW": True}})
want("after_unknown empty", c["after_unknown"] == {})
use = rc["Task/use"]["change"]
want("unknown after is null", use["after"]["apply"][3] is None)
want("after_unknown marks it", use["after_unknown"] == {"apply": [False, False, False, True]})
conf = rc["File/conf"]["change"]
want("multi-line before/after", "two\n" in conf["before"]["content"] and "TWO\n" in conf["after"]["content"])
print("\n".join(bad) if bad else "clean")
PY
expect_in "JSON plan: before/after per resource" "clean" "$T/check"
[ "$(cat "$T/check")" = clean ] || sed 's/^/    /' "$T/plan.json"
expect_not_in "no secret value in the JSON plan" "pw-plan-changed" "$T/plan.json"
expect_not_in "no hash in the JSON plan" "hmac-sha256" "$T/plan.json"

# markdown: a <details> block per resource with the diff of its values
"$CRATIS" plan -f "$P" -o markdown >"$T/md" 2>&1
expect_rc "plan -o markdown" 0 $?
expect_in "details per resource" '<details><summary><code>Task/web</code> update</summary>' "$T/md"
expect_in "a diff block" '```diff' "$T/md"
expect_in "the old value" '- spec.env.PORT: "8080"' "$T/md"
expect_in "the new value" '+ spec.env.PORT: "8081"' "$T/md"
expect_in "the text diff" '+TWO' "$T/md"
expect_not_in "no secret value in markdown" "pw-plan-changed" "$T/md"
# a value with backticks and HTML stays inside its code block
write '8082```\n<img src=x>' NEW TWO "" 2
"$CRATIS" plan -f "$P" -o markdown >"$T/md2" 2>&1
python3 - "$T/md2" >"$T/check2" 2>&1 <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
outside, fence = [], None
for l in lines:
    m = re.match(r"^(`{3,})", l)
    if m and (fence is None or m.group(1) == fence):
        fence = None if fence else m.group(1)
        continue
    if fence is None:
        outside.append(l)
bad = [l for l in outside if "<img" in l]
if fence is not None:
    bad.append("a code block is left open")
print("\n".join(bad) if bad else "clean")
PY
expect_in "markdown: values stay in their code block" "clean" "$T/check2"
finish
