#!/bin/sh
# Strict fields (issue 9 item 1): unknown fields are refused at their location with a hint, in
# core kinds, built-in plugins, exec plugins declaring fields: in plugin.yaml and C plugins
# declaring a field table; a plugin without a schema still accepts any spec field and
# `cratis plugin list` says so.
. "$(dirname "$0")/lib.sh"
BUILD=${CRATIS_BUILD_DIR:-$SRC/build}
P="$T/notes"
cp -r "$SRC/examples/notes" "$P"
# a copy of the example plugin, so that exec_plugin.sh's search for its processes never sees ours
mkdir -p "$T/pl"
cp -r "$SRC/examples/plugins/notes" "$T/pl/"
export CRATIS_PLUGIN_PATH="$T/pl:$BUILD/tests/plugins/noop"

# an exec plugin with fields: in plugin.yaml
cat >"$P/typo.yaml" <<'YAML'
apiVersion: notes/v1
kind: Note
metadata: {name: typo}
spec:
  path: typo.txt
  txt: "hello"
YAML
"$CRATIS" plan -f "$P" >/dev/null 2>"$T/typo.err"
expect_rc "an exec plugin's unknown field is refused" 1 $?
expect_in "at its location" "typo.yaml:6:9: spec.txt: unknown field 'txt' of Note (notes/v1)" "$T/typo.err"
expect_in "with a hint from plugin.yaml's fields" "hint: did you mean 'text'?" "$T/typo.err"
check "nothing was written" test ! -e "$P/typo.txt"
rm "$P/typo.yaml"

# a plugin without a schema: any spec field, as before; the envelope is still checked
cat >"$P/noop.yaml" <<'YAML'
apiVersion: noop/v1
kind: Noop
metadata: {name: loose}
spec: {anything: 1, nested: {goes: [here]}}
YAML
"$CRATIS" plan -f "$P" >"$T/noop.out" 2>&1
expect_rc "a plugin without a schema accepts any spec field" 0 $?
"$CRATIS" plugin list -f "$P" >"$T/list.out" 2>&1
expect_rc "plugin list" 0 $?
expect_in "plugin list marks the schema-less plugin" "$(printf '%-12s %-9s %-5s %-6s' noop 1.0.0 so any)" "$T/list.out"
expect_in "and the plugin with fields: as strict" "$(printf '%-12s %-9s %-5s %-6s' notes 0.1.0 exec strict)" "$T/list.out"
expect_in "and the built-in ones as strict" "$(printf '%-5s %-6s %s' so strict 'exec/v1 Task')" "$T/list.out"
expect_in "and says what 'any' means" "FIELDS any: the plugin declares no schema" "$T/list.out"
"$CRATIS" plugin list -f "$P" -o json >"$T/list.json" 2>&1
expect_in "plugin list -o json has schema false" '"schema": false' "$T/list.json"
cat >"$P/noop.yaml" <<'YAML'
apiVersion: noop/v1
kind: Noop
metadata: {name: loose, environment: staging}
spec: {anything: 1}
YAML
"$CRATIS" plan -f "$P" >/dev/null 2>"$T/env.err"
expect_rc "the envelope of a schema-less kind is still strict" 1 $?
expect_in "metadata.environment refused" "metadata.environment: unknown field 'environment' of Noop (noop/v1)" "$T/env.err"
rm "$P/noop.yaml"

# a nested field of a built-in kind and a Rollout hook
cat >"$P/svc.yaml" <<'YAML'
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [sleep, "60"]
  health: {htpp: "http://127.0.0.1:1/"}
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: app}
spec:
  activePort: 1
  previewPort: 2
  template: {command: [sleep, "60"]}
  hooks:
    exitTests:
      - {run: [true], retrys: 2}
YAML
"$CRATIS" plan -f "$P" >/dev/null 2>"$T/svc.err"
expect_rc "nested unknown fields are refused" 1 $?
expect_in "spec.health.htpp located" "svc.yaml:6:19: spec.health.htpp: unknown field 'htpp' of Service (service/v1)" "$T/svc.err"
expect_in "with its hint" "hint: did you mean 'http'?" "$T/svc.err"
expect_in "a hook item's field is located with its index" "spec.hooks.exitTests[0].retrys: unknown field 'retrys' of Rollout (cratis/v1)" "$T/svc.err"
expect_in "with its hint" "hint: did you mean 'retries'?" "$T/svc.err"
finish
