#!/bin/sh
# Plugin ABI 1.2 through the engine: the probe plugin (tests/plugins/abi12) records every request;
# plan's validate/observe are dry runs, apply and destroy are not; each carries the project, the
# environment and the target System with its auth as a reference (resolved by the plugin through
# host->secret, never written to state). The ABI 1.1 fixture plugin applies beside it.
. "$(dirname "$0")/lib.sh"
BUILD=${CRATIS_BUILD_DIR:-$SRC/build}
export CRATIS_PLUGIN_PATH="$BUILD/tests/plugins/abi12:$BUILD/tests/plugins/abi11"
export PROBE_TOKEN=tok-123456
P="$T/project"
mkdir -p "$P"
cat >"$P/cratis.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: box}
spec:
  type: local
  auth: {token: {fromEnv: PROBE_TOKEN}}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [box]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec: {environments: [staging]}
---
apiVersion: probe/v1
kind: Probe
metadata: {name: p1, project: demo}
spec: {system: box, record: "$T/requests.jsonl"}
---
apiVersion: abi11/v1
kind: Old
metadata: {name: o1, project: demo}
spec: {system: box}
YAML
"$CRATIS" plan -f "$P" --env staging --detailed-exitcode >"$T/plan.out" 2>&1
expect_rc "plan shows changes" 2 $?
expect_in "plan validated with a dry run" '"dryRun":1' "$T/requests.jsonl"
expect_in "validate carries the System" '"op":"validate","project":"demo","size":' "$T/requests.jsonl"
expect_in "the System's name, type and spec" '"system":"box","systemSpec":{"auth":{"token":{"fromEnv":"PROBE_TOKEN"}},"type":"local"},"systemType":"local"' "$T/requests.jsonl"
expect_in "the environment" '"environment":"staging"' "$T/requests.jsonl"
check "plan never applies" sh -c "! grep -q '\"op\":\"apply\"' '$T/requests.jsonl'"
"$CRATIS" apply -f "$P" --env staging --auto-approve >"$T/apply.out" 2>&1
expect_rc "apply" 0 $?
check "apply is not a dry run" sh -c "grep '\"op\":\"apply\"' '$T/requests.jsonl' | grep -q '\"dryRun\":0'"
"$CRATIS" state show Probe/p1 -f "$P" --env staging >"$T/show.out" 2>&1
expect_in "the plugin resolved the auth reference" '"authTokenLength": 10' "$T/show.out"
expect_not_in "the token is not in state" "tok-123456" "$T/show.out"
check "the token is nowhere in the state store" sh -c "! grep -rqa tok-123456 '$P/.cratis'"
"$CRATIS" state show Old/o1 -f "$P" --env staging >"$T/old.out" 2>&1
expect_in "the ABI 1.1 plugin applied" '"echo": "hello from 1.1"' "$T/old.out"
expect_in "the ABI 1.1 plugin saw this host's minor" "\"hostMinor\": $(sed -n 's/^#define CRATIS_ABI_MINOR \([0-9]*\)/\1/p' "$SRC/include/cratis/plugin.h")" "$T/old.out"
"$CRATIS" plan -f "$P" --env staging >/dev/null 2>&1
check "observe is a dry run with the System" sh -c "grep '\"op\":\"observe\"' '$T/requests.jsonl' | grep '\"dryRun\":1' | grep -q '\"system\":\"box\"'"
"$CRATIS" destroy -f "$P" --env staging --auto-approve >"$T/destroy.out" 2>&1
expect_rc "destroy" 0 $?
check "destroy is not a dry run and knows the System" sh -c "grep '\"op\":\"destroy\"' '$T/requests.jsonl' | grep '\"dryRun\":0' | grep -q '\"system\":\"box\"'"
# a literal credential in a System is refused with its location
sed 's/auth: {token: {fromEnv: PROBE_TOKEN}}/auth: {token: tok-literal, nested: {key: {fromFile: k}}}/' "$P/cratis.yaml" >"$T/lit.yaml"
mkdir -p "$T/lit" && mv "$T/lit.yaml" "$T/lit/cratis.yaml"
"$CRATIS" plan -f "$T/lit" --env staging >"$T/lit.out" 2>&1
expect_rc "plan with a literal credential" 1 $?
expect_in "it names the field" "cratis.yaml:6:17: spec.auth.token: expected a reference ({fromEnv: NAME}, {fromFile: PATH} or {secret: NAME}), never a literal credential" "$T/lit.out"
expect_not_in "a nested reference is fine" "spec.auth.nested" "$T/lit.out"
finish
