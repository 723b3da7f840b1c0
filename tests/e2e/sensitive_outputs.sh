#!/bin/sh
# Sensitive outputs and secrets for every plugin call (issue 9, item 11): a Task output declared
# {name, sensitive: true} is sealed in state (keyed hash + AES-256-GCM under .cratis/secret.key),
# shown as (sensitive), and handed to the resources that use it in this apply and in later ones;
# a plugin's check (observe) and destroy get the values of the secrets and sensitive outputs
# that their recorded spec took, so nothing plans as drift and destroy commands get real values.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
TOK="tok-VAL-9x41"; GEN="gen-SECRET-771q"
export CRATIS_T_TOK="$TOK"
printf '%s\n' "$GEN" >"$T/gen.src"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: so}
spec:
  secrets:
    tok: {env: CRATIS_T_TOK}
---
apiVersion: exec/v1
kind: Task
metadata: {name: gen, project: so}
spec:
  apply: [sh, -c, 'echo token=\$(cat $T/gen.src); echo plain=hello']
  outputs: [{name: token, sensitive: true}, plain]
---
apiVersion: exec/v1
kind: Task
metadata: {name: use, project: so}
spec:
  env: {TOKEN: "Bearer \${Task/gen.outputs.token}", PLAIN: "\${Task/gen.outputs.plain}"}
  apply: [sh, -c, 'printf "%s %s" "\$TOKEN" "\$PLAIN" >"$T/use.got"']
  check: [sh, -c, 'test "\$TOKEN" = "Bearer \$(cat $T/gen.src)"']
  destroy: [sh, -c, 'printf "%s" "\$TOKEN" >"$T/use.destroyed"']
---
apiVersion: exec/v1
kind: Task
metadata: {name: sec, project: so}
spec:
  env: {K: "\${secret:tok}"}
  apply: [sh, -c, 'printf "%s" "\$K" >"$T/sec.got"']
  check: [sh, -c, 'test "\$K" = "\$CRATIS_T_TOK"']
  destroy: [sh, -c, 'printf "%s" "\$K" >"$T/sec.destroyed"']
YAML
C() { "$CRATIS" "$@" -f "$P"; }
never() { # NAME FILE: no value in FILE
	for v in "$TOK" "$GEN"; do expect_not_in "$1 ($v)" "$v" "$2"; done
}
C apply --auto-approve -v >"$T/apply.out" 2>&1; expect_rc "apply" 0 $?
expect_in "the dependent got the sensitive output in the same apply" "Bearer $GEN hello" "$T/use.got"
expect_in "the secret reached its Task" "$TOK" "$T/sec.got"
expect_in "-v streams the output line masked" "Task/gen: token=(sensitive)" "$T/apply.out"
(cd "$P" && sqlite3 .cratis/state.db .dump) >"$T/dump"
expect_in "the output is sealed in state" "sealed:v1:" "$T/dump"
expect_in "a plain output stays plain" '"plain":"hello"' "$T/dump"
C state show Task/gen >"$T/show" 2>&1
expect_in "state show: redacted" "(sensitive) hmac-sha256:" "$T/show"
expect_not_in "state show: no ciphertext" "sealed:" "$T/show"
C get -o json >"$T/get" 2>&1
expect_not_in "get: no ciphertext" "sealed:" "$T/get"
expect_in "get: redacted" "(sensitive) hmac-sha256:" "$T/get"
for f in apply.out dump show get; do never "$f" "$T/$f"; done
# the checks run with the values (a hash would fail them: drift), and the dependent's recorded
# spec is the same when its producer's output comes from state
C plan --detailed-exitcode >"$T/plan" 2>&1; expect_rc "no drift, nothing to do" 0 $?
never plan "$T/plan"
# a later apply of the dependent alone opens the sealed output from state
rm -f "$T/use.got"
sed -i 's/PLAIN: /EXTRA: "1", PLAIN: /' "$P/m.yaml"
C plan >"$T/plan2" 2>&1
expect_in "only the dependent changes" "1 to update" "$T/plan2"
C apply --auto-approve >"$T/apply2" 2>&1; expect_rc "apply of the dependent" 0 $?
expect_in "the dependent got the value from state" "Bearer $GEN hello" "$T/use.got"
never apply2 "$T/apply2"
C plan --detailed-exitcode >/dev/null 2>&1; expect_rc "converged" 0 $?
# another key cannot open it: a clear error, no value
cp "$P/.cratis/secret.key" "$T/key.saved"
head -c 32 /dev/urandom >"$P/.cratis/secret.key"
sed -i 's/EXTRA: "1"/EXTRA: "2"/' "$P/m.yaml"
C plan >"$T/plan3" 2>&1; expect_rc "a foreign key fails the plan" 1 $?
expect_in "the message names the key" "secret.key" "$T/plan3"
expect_in "the message names the output" "Task/gen output 'token' is sensitive" "$T/plan3"
never plan3 "$T/plan3"
cp "$T/key.saved" "$P/.cratis/secret.key"
# destroy commands get the values their recorded spec took
C destroy --auto-approve >"$T/destroy" 2>&1; expect_rc "destroy" 0 $?
expect_in "destroy got the secret" "$TOK" "$T/sec.destroyed"
expect_in "destroy got the sensitive output" "Bearer $GEN" "$T/use.destroyed"
never destroy "$T/destroy"
# a malformed output declaration is located
cat >"$T/bad.yaml" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: bad}
spec:
  apply: [true]
  outputs: [{name: x, secret: true}]
YAML
"$CRATIS" plan -f "$T/bad.yaml" >"$T/bad" 2>&1; expect_rc "bad declaration" 1 $?
expect_in "located" "spec.outputs[0]" "$T/bad"
finish
