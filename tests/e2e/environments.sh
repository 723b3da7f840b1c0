#!/bin/sh
# Environments (issue 10): `cratis env list [-o json]` (names, systems, variable names; values of
# sensitive variables never printed); metadata.environments limits a resource to some
# environments (an unknown name is a located error with did-you-mean); `system: ${system}` takes
# the System from a variable of each environment; commands that need an environment in a
# multi-environment project say so with the list.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
export CRATIS_T_SECRET="hush-Pz93"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: box-a}
---
apiVersion: cratis/v1
kind: System
metadata: {name: box-b}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [box-a]
  variables: {system: box-a, key: {value: "\${env:CRATIS_T_SECRET}", sensitive: true}}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [box-b]
  variables: {system: box-b, key: other}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
---
apiVersion: exec/v1
kind: Task
metadata: {name: everywhere}
spec:
  system: \${system}
  apply: [sh, -c, 'echo "\$1" >>"\$2"', x, "\${system}", "$T/everywhere.log"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: stage-only, environments: [staging]}
spec:
  system: \${system}
  apply: [touch, "$T/stage-only"]
YAML

"$CRATIS" env list -f "$P" >"$T/list.out" 2>&1
expect_rc "env list" 0 $?
expect_in "lists staging with its system" "staging" "$T/list.out"
expect_in "production's system" "box-b" "$T/list.out"
expect_in "variable names, sensitive ones marked" "key (sensitive)" "$T/list.out"
expect_not_in "no sensitive value" "$CRATIS_T_SECRET" "$T/list.out"
expect_not_in "no value at all" "other" "$T/list.out"
"$CRATIS" env list -f "$P" -o json >"$T/list.json" 2>&1
expect_rc "env list -o json" 0 $?
python3 - "$T/list.json" >"$T/json.check" 2>&1 <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert [x["name"] for x in e] == ["staging", "production"], e
assert e[0]["systems"] == ["box-a"] and e[0]["variables"] == ["system", "key"] and e[0]["sensitive"] == ["key"], e
print("json ok")
PY
expect_in "env list -o json: names, systems, variables" "json ok" "$T/json.check"
expect_not_in "no value in json" "$CRATIS_T_SECRET" "$T/list.json"

# commands that need an environment say so
"$CRATIS" state list -f "$P" >"$T/noenv.out" 2>&1
expect_rc "state list without --env in a multi-environment project" 1 $?
expect_in "names the environments" "several environments are defined (staging, production); choose one with --env NAME" "$T/noenv.out"
"$CRATIS" state list -f "$P" --env stagin >"$T/typo.out" 2>&1
expect_rc "state list with an unknown environment" 1 $?
expect_in "did you mean the environment" "did you mean 'staging'?" "$T/typo.out"
"$CRATIS" plan -f "$P" --env prodution >"$T/typo2.out" 2>&1
expect_rc "plan with an unknown environment" 1 $?
expect_in "plan: did you mean the environment" "did you mean 'production'?" "$T/typo2.out"
"$CRATIS" output -f "$P" >"$T/noenv2.out" 2>&1
expect_rc "output without --env" 1 $?
expect_in "output says so too" "several environments are defined" "$T/noenv2.out"

# metadata.environments and system: \${system}
"$CRATIS" apply -f "$P" --env staging --auto-approve >"$T/st.out" 2>&1
expect_rc "apply staging" 0 $?
check "the staging-only Task ran in staging" test -f "$T/stage-only"
expect_in "system from the staging variable" "box-a" "$T/everywhere.log"
"$CRATIS" state show Task/everywhere -f "$P" --env staging >"$T/show.out" 2>&1
expect_in "recorded spec names the resolved system" '"system": "box-a"' "$T/show.out"
rm -f "$T/stage-only"
"$CRATIS" plan -f "$P" --env production >"$T/prodplan.out" 2>&1
expect_rc "plan production" 0 $?
expect_not_in "the staging-only Task is not planned in production" "stage-only" "$T/prodplan.out"
"$CRATIS" apply -f "$P" --env production --auto-approve >"$T/prod.out" 2>&1
expect_rc "apply production" 0 $?
check "the staging-only Task did not run in production" test ! -f "$T/stage-only"
expect_in "system from the production variable" "box-b" "$T/everywhere.log"

# an unknown environment name in metadata.environments
sed -i 's/environments: \[staging\]/environments: [stagng]/' "$P/m.yaml"
"$CRATIS" plan -f "$P" --env staging >"$T/bad.out" 2>&1
expect_rc "unknown environment in metadata.environments" 1 $?
expect_in "located" "metadata.environments[0]: unknown environment 'stagng'" "$T/bad.out"
expect_in "did you mean" "did you mean 'staging'?" "$T/bad.out"
# a dependency on a resource another environment has
sed -i 's/environments: \[stagng\]/environments: [production]/' "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: after}
spec: {system: "${system}", apply: [true], dependsOn: [Task/stage-only]}
YAML
"$CRATIS" plan -f "$P" --env staging >"$T/dep.out" 2>&1
expect_rc "depending on a resource of another environment" 1 $?
expect_in "says why" "'Task/stage-only' is not deployed to environment 'staging'" "$T/dep.out"
finish
