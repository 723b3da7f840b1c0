#!/bin/sh
# cratis explain (issue 10): the kinds, one kind's fields with types, required, defaults and help,
# one field, -o json, a kind whose plugin declares no fields, an exec plugin's fields: with
# default:/required:, and unknown kinds and fields with "did you mean". No state is created.
. "$(dirname "$0")/lib.sh"
BUILD=${CRATIS_BUILD_DIR:-$SRC/build}
P="$T/p"
mkdir -p "$P" "$T/pl/memo"
# an exec plugin whose fields carry default: and required: (never started by explain)
cat >"$T/pl/memo/plugin.yaml" <<'YAML'
name: memo
version: 1.2.3
abi: 1
executable: memo.sh
ops: [apply, destroy]
handlers:
  - group: memo
    kind: Memo
    versions: [v1, v2]
    fields:
      - {path: spec.text, type: string, help: "what to remember", required: true}
      - {path: spec.copies, type: integer, help: "how many", default: 2}
      - {path: spec.tone, type: string, default: calm}
YAML
printf '#!/bin/sh\nexit 1\n' >"$T/pl/memo/memo.sh"
chmod +x "$T/pl/memo/memo.sh"
export CRATIS_PLUGIN_PATH="$T/pl:$BUILD/tests/plugins/noop"
cd "$P" || exit 1

"$CRATIS" explain >"$T/kinds.out" 2>"$T/kinds.err"
expect_rc "explain alone lists the kinds" 0 $?
expect_in "a core kind" "$(printf '%-14s %-24s %-10s %s' Environment cratis/v1 cratis declared)" "$T/kinds.out"
expect_in "a built-in plugin's kind" "$(printf '%-14s %-24s %-10s %s' Service service/v1 service declared)" "$T/kinds.out"
expect_in "an exec plugin's kind with its versions" "$(printf '%-14s %-24s %-10s %s' Memo 'memo/v1, memo/v2' memo declared)" "$T/kinds.out"
expect_in "a kind without declared fields" "$(printf '%-14s %-24s %-10s %s' Noop noop/v1 noop 'not declared')" "$T/kinds.out"

"$CRATIS" explain Service >"$T/svc.out" 2>&1
expect_rc "explain Service" 0 $?
expect_in "names the kind" "KIND:     Service" "$T/svc.out"
expect_in "its apiVersion" "VERSIONS: service/v1" "$T/svc.out"
expect_in "the plugin handling it" "PLUGIN:   service 0.1.0 (so," "$T/svc.out"
expect_in "a required field with its type" "  spec.command <argv> -required-" "$T/svc.out"
expect_in "and its help" "      the process to run" "$T/svc.out"
expect_in "a default" "  spec.health.timeoutSeconds <number> (default: 30)" "$T/svc.out"
expect_in "the envelope" "  metadata.name <string> -required-" "$T/svc.out"
expect_in "fields cratis reads for every resource" "  spec.dependsOn <array>" "$T/svc.out"

"$CRATIS" explain File.spec.mode >"$T/mode.out" 2>&1
expect_rc "explain KIND.FIELD" 0 $?
expect_in "the field with its default" "  spec.mode <string> (default: 0644)" "$T/mode.out"
expect_not_in "and not the other fields" "spec.content" "$T/mode.out"
"$CRATIS" explain service.health >"$T/health.out" 2>&1
expect_rc "kind case-insensitive, spec. implied, an implied parent" 0 $?
expect_in "the parent as an object" "  spec.health <object>" "$T/health.out"
expect_in "its sub-fields" "  spec.health.http <string>" "$T/health.out"
expect_not_in "only those" "spec.command" "$T/health.out"
"$CRATIS" explain Rollout.spec.hooks.exitTests.retries >"$T/hook.out" 2>&1
expect_in "a core kind's nested field" "spec.hooks.exitTests.retries <integer> (default: 0)" "$T/hook.out"

"$CRATIS" explain Memo -o json >"$T/memo.json" 2>"$T/memo.err"
expect_rc "explain -o json" 0 $?
python3 - "$T/memo.json" <<'PY' >"$T/memo.py" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "Memo" and d["apiVersions"] == ["memo/v1", "memo/v2"], d
assert d["plugin"]["name"] == "memo" and d["plugin"]["form"] == "exec", d["plugin"]
f = {x["path"]: x for x in d["fields"]}
assert f["spec.text"]["required"] is True and f["spec.text"]["help"] == "what to remember", f["spec.text"]
assert f["spec.copies"]["default"] == "2" and f["spec.copies"]["type"] == "integer", f["spec.copies"]
assert f["spec.tone"]["default"] == "calm" and f["spec.tone"]["help"] is None, f["spec.tone"]
assert d["field"] is None
print("json ok")
PY
expect_in "plugin.yaml default:/required: reach explain -o json" "json ok" "$T/memo.py"

"$CRATIS" explain Noop >"$T/noop.out" 2>&1
expect_rc "a kind without fields is explained" 0 $?
expect_in "and says so" "The plugin declares no fields for Noop" "$T/noop.out"
"$CRATIS" explain Noop.spec.x >"$T/noopf.out" 2>&1
expect_rc "a field of such a kind" 1 $?
expect_in "says the plugin declares none" "Noop (noop) declares no fields: plugin 'noop' does not list them" "$T/noopf.out"

"$CRATIS" explain Servce >"$T/bad.out" 2>&1
expect_rc "an unknown kind" 1 $?
expect_in "is named" "error: unknown kind 'Servce'" "$T/bad.out"
expect_in "with did you mean" "hint: did you mean 'Service'?" "$T/bad.out"
"$CRATIS" explain Service.spec.helth.http >"$T/badf.out" 2>&1
expect_rc "an unknown field" 1 $?
expect_in "is named" "error: unknown field 'spec.helth.http' of Service (service)" "$T/badf.out"
expect_in "with did you mean" "hint: did you mean 'spec.health'?" "$T/badf.out"
"$CRATIS" explain Service.spec.xyzzy -o json >"$T/badf.json" 2>/dev/null
expect_rc "an unknown field with -o json" 1 $?
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["severity"]=="error" and "xyzzy" in d[0]["message"]; print("ok")' "$T/badf.json" >"$T/badf.py" 2>&1
expect_in "prints the diagnostics as JSON" "ok" "$T/badf.py"
"$CRATIS" explain A B >/dev/null 2>&1
expect_rc "two arguments are a usage error" 64 $?
"$CRATIS" explain -o markdown >/dev/null 2>&1
expect_rc "-o markdown is a usage error" 64 $?
check "explain created no state directory" test ! -e "$P/.cratis"
finish
