#!/bin/sh
# Project outputs (issue 10): Project spec.outputs over resource outputs and variables; apply
# ends with Terraform's "Outputs:" block on stdout (sensitive ones as "(sensitive)"); `cratis
# output [NAME] [-o text|json|raw]` reads them from state without the lock; unknown names get a
# did-you-mean; a value from a sensitive variable is never shown, not even by -o raw; the bundled
# example prints its URL.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
export CRATIS_T_PW="s3cret-Vq7"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
spec:
  outputs:
    dir: "${Task/mk.outputs.dir}"
    greeting: {value: "hi ${name} at ${Task/mk.outputs.dir}", description: a sentence}
    token: {value: "${Task/mk.outputs.token}", sensitive: true}
    password: {value: "pw=${pw}", sensitive: true}
    answer: 42
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: other}
spec: {systems: [local]}
---
apiVersion: exec/v1
kind: Task
metadata: {name: mk}
spec:
  apply: [sh, -c, 'echo dir=/srv/x; echo token=tok-123']
  outputs: [dir, token]
YAML
# the Environment staging of demo_core gets variables
sed -i 's/^  systems: \[local\]$/  systems: [local]\n  variables: {name: world, pw: {value: "${env:CRATIS_T_PW}", sensitive: true}}/' "$P/m.yaml"
C() { "$CRATIS" "$@" -f "$P" --env staging; }

C output >"$T/before.out" 2>"$T/before.err"
expect_rc "output before any apply" 0 $?
expect_in "unknown before apply" 'dir = (known after apply)' "$T/before.out"
expect_in "a literal is known at once" 'answer = 42' "$T/before.out"
C output dir >"$T/nodir.out" 2>&1
expect_rc "a named output without a value" 1 $?
expect_in "says what it waits for" 'no value yet' "$T/nodir.out"

C apply --auto-approve >"$T/apply.out" 2>"$T/apply.err"
expect_rc "apply" 0 $?
expect_in "Outputs: block on stdout" 'Outputs:' "$T/apply.out"
expect_in "resource output" 'dir = "/srv/x"' "$T/apply.out"
expect_in "variable and output in one expression" 'greeting = "hi world at /srv/x"' "$T/apply.out"
expect_in "sensitive output hidden" 'token = (sensitive)' "$T/apply.out"
expect_in "sensitive variable hidden" 'password = (sensitive)' "$T/apply.out"
expect_not_in "outputs not on stderr" 'Outputs:' "$T/apply.err"
expect_not_in "no secret in apply's output" "$CRATIS_T_PW" "$T/apply.out"
expect_not_in "no token in apply's output" 'tok-123' "$T/apply.out"

C output >"$T/all.out" 2>&1
expect_rc "output" 0 $?
expect_in "output lists them" 'greeting = "hi world at /srv/x"' "$T/all.out"
expect_in "output hides sensitive" 'token = (sensitive)' "$T/all.out"
C output -o json >"$T/all.json" 2>&1
expect_rc "output -o json" 0 $?
python3 - "$T/all.json" >"$T/json.check" 2>&1 <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["dir"]["value"] == "/srv/x", o
assert o["greeting"]["description"] == "a sentence", o
assert o["token"]["sensitive"] is True and o["token"]["value"] == "tok-123", o
assert o["password"]["clear"] is False and o["password"]["value"] is None, o
assert o["answer"]["value"] == 42, o
print("json ok")
PY
expect_in "output -o json carries values, sensitive flags and descriptions" 'json ok' "$T/json.check"
C output dir -o raw >"$T/raw.out" 2>&1
expect_rc "output NAME -o raw" 0 $?
check "raw prints the bare value" test "$(cat "$T/raw.out")" = "/srv/x"
C output token -o raw >"$T/rawtok.out" 2>&1
expect_rc "raw prints a sensitive value recorded in clear" 0 $?
check "raw token" test "$(cat "$T/rawtok.out")" = "tok-123"
C output password -o raw >"$T/rawpw.out" 2>&1
expect_rc "raw refuses a value that is not recorded" 1 $?
expect_in "says it is sensitive and not recorded" 'sensitive and its value is not recorded' "$T/rawpw.out"
expect_not_in "never the value" "$CRATIS_T_PW" "$T/rawpw.out"
C output dri >"$T/typo.out" 2>&1
expect_rc "unknown output name" 1 $?
expect_in "did you mean" "did you mean 'dir'?" "$T/typo.out"
C output -o markdown >"$T/md.out" 2>&1
expect_rc "-o markdown is not a format of output" 64 $?
"$CRATIS" output -o raw -f "$P" --env staging >"$T/rawall.out" 2>&1
expect_rc "-o raw needs a NAME" 64 $?

# no lock: output works while another run holds the environment
"$CRATIS" state list -f "$P" --env staging >/dev/null 2>&1
python3 - "$P/.cratis/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = [r[1] for r in db.execute("PRAGMA table_info(locks)")]
vals = {"id": "feedfacefeedfacefeedfacefeedface", "environment": "staging", "owner": "x", "pid": 1, "host": "elsewhere",
        "user": "u", "command": "cratis apply", "since": "2026-01-01T00:00:00Z", "acquired": 4102444800000,
        "heartbeat": 4102444800000, "expires": 4102444800000, "lease_ms": 30000, "deployment": 0}
use = [c for c in cols if c in vals]
db.execute("INSERT INTO locks (%s) VALUES (%s)" % (",".join(use), ",".join("?" * len(use))), [vals[c] for c in use])
db.commit()
PY
C state list >"$T/locks.out" 2>&1
expect_in "another run holds the lock" 'lock feedface' "$T/locks.out"
C output dir -o raw >"$T/locked.out" 2>&1
expect_rc "output while the environment is locked" 0 $?
C state rm Task/mk >"$T/rmlocked.out" 2>&1
expect_rc "state rm waits for nobody: the lock is held" 3 $?

# invalid outputs are located errors
cat >"$T/bad.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  outputs:
    url: {value: "${Task/mc.outputs.dir}", sensitiv: true}
    "2x": "${Task/mk.outputs.dir}"
---
apiVersion: exec/v1
kind: Task
metadata: {name: mk}
spec: {apply: [true]}
YAML
mkdir -p "$T/bad" && mv "$T/bad.yaml" "$T/bad/m.yaml"
"$CRATIS" plan -f "$T/bad" >"$T/bad.out" 2>&1
expect_rc "invalid outputs" 1 $?
expect_in "unknown field inside an output" "spec.outputs.url.sensitiv: unknown field 'sensitiv'" "$T/bad.out"
expect_in "unknown reference in an output, located" "spec.outputs.url.value: unknown reference 'Task/mc'" "$T/bad.out"
expect_in "did you mean the resource" "did you mean 'Task/mk'?" "$T/bad.out"
expect_in "invalid output name" "invalid output name '2x'" "$T/bad.out"

# the bundled example prints its URL
cp -r "$SRC/examples/hello" "$T/hello"
PORT=$(free_port)
export HELLO_STAGING_PORT=$PORT
"$CRATIS" apply -f "$T/hello" --env staging --auto-approve >"$T/hello.out" 2>"$T/hello.err"
expect_rc "apply the example" 0 $?
expect_in "the example prints its URL" "url = \"http://127.0.0.1:$PORT/\"" "$T/hello.out"
URL=$("$CRATIS" output url -o raw -f "$T/hello" --env staging)
check "the URL answers" sh -c "curl -sf '$URL' | grep -q 'hello from staging'"
"$CRATIS" destroy -f "$T/hello" --env staging --auto-approve >/dev/null 2>&1
expect_rc "destroy the example" 0 $?
finish
