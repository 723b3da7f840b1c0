#!/bin/sh
# Secrets stay secret (issue 9, item 11) and values are interpolated once (item 4): a Task gets
# ${secret:NAME} from each provider (env, file, command); the value never reaches state.db,
# `state show`, `history`, plans (text, json, markdown) or the apply's output; a changed secret
# plans an update; a missing secret is a located error. An environment value that looks like a
# reference is data.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
V1="pw-env-Zq81x"; V2="pw-file-Kk27y"; V3="pw-cmd-Rt55z"; V4="pw-var-Mm09w"
printf '%s\n' "$V2" >"$T/db.pass"
printf '#!/bin/sh\necho %s\n' "$V3" >"$T/vault"; chmod +x "$T/vault"
export CRATIS_T_DB="$V1" CRATIS_T_VAR="$V4"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: sec}
spec:
  secrets:
    a: {env: CRATIS_T_DB}
    b: {file: $T/db.pass}
    c: {command: [$T/vault]}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec:
  systems: [local]
  variables:
    token: {value: "\${env:CRATIS_T_VAR}", sensitive: true}
---
apiVersion: exec/v1
kind: Task
metadata: {name: use, project: sec}
spec:
  apply: [sh, -c, 'printf "%s %s %s %s" "\$1" "\$2" "\$3" "\$4" >"\$5"', x, "\${secret:a}", "u:\${secret:b}@h", "\${secret:c}", "\${token}", "$T/got"]
YAML
C() { "$CRATIS" "$@" -f "$P"; }
never() { # NAME FILE: no secret value in FILE
	for v in "$V1" "$V2" "$V3" "$V4"; do expect_not_in "$1 ($v)" "$v" "$2"; done
}
C plan >"$T/plan.txt" 2>&1; expect_rc "plan" 0 $?
C plan -o json >"$T/plan.json" 2>&1
C plan -o markdown >"$T/plan.md" 2>&1
C apply --auto-approve >"$T/apply.out" 2>&1; expect_rc "apply" 0 $?
expect_in "the plugin got every value" "$V1 u:$V2@h $V3 $V4" "$T/got"
(cd "$P" && sqlite3 .cratis/state.db .dump) >"$T/dump"
C state show Task/use >"$T/show" 2>&1
C history >"$T/history" 2>&1
for f in plan.txt plan.json plan.md apply.out dump show history; do never "$f" "$T/$f"; done
grep -rl -e "$V1" -e "$V2" -e "$V3" -e "$V4" "$P/.cratis" >"$T/anyfile" 2>&1
check "no file under .cratis holds a value" test ! -s "$T/anyfile"
expect_in "state keeps the redacted form" "(sensitive) hmac-sha256:" "$T/dump"
expect_rc "the hash key is private" 600 "$(stat -c %a "$P/.cratis/secret.key")"
C plan --detailed-exitcode >/dev/null 2>&1; expect_rc "nothing to do after apply" 0 $?
# a changed secret is a change
printf '%s\n' "pw-file-2" >"$T/db.pass"
C plan --detailed-exitcode >"$T/plan2" 2>&1; expect_rc "a changed secret plans an update" 2 $?
expect_in "the changed field" "update" "$T/plan2"
never plan2 "$T/plan2"
# a missing secret: located, no value
unset CRATIS_T_DB
C plan >"$T/plan3" 2>&1; expect_rc "a missing secret fails" 1 $?
expect_in "named" "environment variable 'CRATIS_T_DB' is not set" "$T/plan3"
expect_in "located" "m.yaml:" "$T/plan3"
never plan3 "$T/plan3"
sed -i 's/\${secret:c}/${secret:nope}/' "$P/m.yaml"
export CRATIS_T_DB="$V1"
C plan >"$T/plan4" 2>&1; expect_rc "an undeclared secret fails" 1 $?
expect_in "undeclared named" "unknown secret 'nope'" "$T/plan4"
never plan4 "$T/plan4"

# a plugin that repeats a value in its error: scrubbed from the output, state and history
R="$T/r"; mkdir -p "$R"
cat >"$R/m.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: r}
spec: {secrets: {a: {env: CRATIS_T_DB}}}
---
apiVersion: exec/v1
kind: Task
metadata: {name: fails, project: r}
spec:
  apply: [sh, -c, 'echo "bad password \$1" >&2; exit 3', x, "\${secret:a}"]
YAML
"$CRATIS" apply --auto-approve -v -f "$R" >"$T/fail.out" 2>&1; expect_rc "a failing Task" 1 $?
expect_in "its error is shown" "bad password (sensitive)" "$T/fail.out"
(cd "$R" && sqlite3 .cratis/state.db .dump) >"$T/fail.dump"
"$CRATIS" history -f "$R" >>"$T/fail.dump" 2>&1
never fail.out "$T/fail.out"
never fail.dump "$T/fail.dump"

# a sensitive variable is recorded redacted in the deployment's inputs, so it is not promoted
S="$T/s"; mkdir -p "$S"
cat >"$S/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
  variables: {token: {value: "\${env:CRATIS_T_VAR}", sensitive: true}}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
  variables: {token: other}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: s}
spec: {promotion: {variables: [token]}}
---
apiVersion: exec/v1
kind: Task
metadata: {name: t}
spec:
  apply: [sh, -c, 'test -n "\$1"', x, "\${token}"]
YAML
"$CRATIS" apply --auto-approve --env staging -f "$S" >/dev/null 2>&1; expect_rc "apply to staging" 0 $?
"$CRATIS" promote --from staging --to production --auto-approve -f "$S" >"$T/promote" 2>&1; expect_rc "promoting a sensitive variable is refused" 1 $?
expect_in "and says why" "'token' is sensitive" "$T/promote"
(cd "$S" && sqlite3 .cratis/state.db .dump) >"$T/s.dump"
never "staging state" "$T/s.dump"
never promote "$T/promote"

# item 4: a value from the environment is data, never template text
Q="$T/q"; mkdir -p "$Q"
cat >"$Q/m.yaml" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: t}
spec:
  apply: [sh, -c, 'printf "%s" "\$1" >"\$2"', x, "\${env:INJ}", "$T/inj"]
YAML
export SECRET_TOKEN="tok-Xy7"
INJ='${env:SECRET_TOKEN}' "$CRATIS" apply --auto-approve -f "$Q" >"$T/inj.out" 2>&1; expect_rc "apply with a reference in a value" 0 $?
expect_in "the value is passed as it is" '${env:SECRET_TOKEN}' "$T/inj"
expect_not_in "never the secret" "tok-Xy7" "$T/inj"
INJ='${Task/t.outputs.x}' "$CRATIS" plan -f "$Q" >"$T/inj2" 2>&1; expect_rc "an output reference in a value adds no edge" 2 "$( [ $? -le 2 ] && echo 2 || echo $?)"
expect_not_in "no cycle" "cycle" "$T/inj2"
finish
