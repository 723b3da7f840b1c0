#!/bin/sh
# Saved plans (issue 10): `cratis plan -out FILE` writes the plan (0600, no secret value);
# `cratis apply FILE` applies exactly it, without re-planning (no refresh), from any directory;
# a stale plan (state changed since, a manifest changed, a secret's value changed) is refused
# with "saved plan is stale", exit 1, and nothing changes.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
SECRET="pw-saved-Hq38d"
export CRATIS_T_PW="$SECRET"
write() { # MESSAGE
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
metadata: {name: say, project: demo}
spec:
  system: local
  apply: [sh, -c, 'printf "%s" "\$1" >>"\$2"', x, "$1", "$T/said"]
  env: {PW: "\${secret:pw}"}
---
apiVersion: file/v1
kind: File
metadata: {name: conf, project: demo}
spec:
  system: local
  path: conf.txt
  content: "$1\n"
---
apiVersion: file/v1
kind: File
metadata: {name: keep, project: demo}
spec:
  system: local
  path: keep.txt
  content: "unchanged\n"
YAML
}
history_count() { "$CRATIS" history -f "$P" -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
write one
"$CRATIS" apply -f "$P" --auto-approve >"$T/a1" 2>&1
expect_rc "first apply" 0 $?

# a plan saved, applied exactly, from another directory
write two
"$CRATIS" plan -f "$P" -out "$T/tfplan" >"$T/p1" 2>"$T/p1.err"
expect_rc "plan -out" 0 $?
expect_in "the plan is shown" "~   Task/say" "$T/p1"
expect_in "where it was saved" "cratis apply $T/tfplan" "$T/p1.err"
expect_rc "the plan file is private" 600 "$(stat -c %a "$T/tfplan")"
expect_not_in "no secret value in the plan file" "$SECRET" "$T/tfplan"
expect_in "the redacted spec is recorded" "(sensitive)" "$T/tfplan"
python3 - "$T/tfplan" >"$T/fields" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
need = ["format_version", "cratis_version", "environment", "manifests", "inputs", "resources", "prior_state"]
print(" ".join(k for k in need if k not in p) or "complete")
print("digests" if all(len(m["sha256"]) == 64 for m in p["manifests"]) else "no digests")
print("serials" if all("updated" in r and "digest" in r for r in p["prior_state"]) else "no serials")
PY
expect_in "the plan file holds what it should" "complete" "$T/fields"
expect_in "manifest digests" "digests" "$T/fields"
expect_in "prior state stamps" "serials" "$T/fields"
# drift after the plan: an apply that re-planned (refreshed) would re-create the file
test -f "$P/keep.txt" || fail "keep.txt was written"
rm -f "$P/keep.txt"
(cd "$T" && "$CRATIS" apply "$T/tfplan") >"$T/a2" 2>&1
expect_rc "apply FILE" 0 $?
expect_in "the saved plan ran" "Apply complete: 2 succeeded" "$T/a2"
expect_in "the planned change was made" "onetwo" "$T/said"
expect_not_in "no refresh: the drift was not looked at" "drift" "$T/a2"
expect_not_in "no confirmation asked" "Do you want" "$T/a2"
"$CRATIS" plan -f "$P" --detailed-exitcode >"$T/p2" 2>&1
expect_rc "the next plan sees the drift the saved plan did not" 2 $?
expect_in "drift" "drift" "$T/p2"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1

# stale: applied twice (the state changed since)
write three
"$CRATIS" plan -f "$P" -out "$T/plan3" >/dev/null 2>&1
"$CRATIS" apply "$T/plan3" >/dev/null 2>&1
expect_rc "apply the saved plan" 0 $?
n=$(history_count)
"$CRATIS" apply "$T/plan3" >"$T/a3" 2>&1
expect_rc "the same plan again is stale" 1 $?
expect_in "stale: the state changed" "saved plan is stale: the state changed since the plan was made" "$T/a3"
expect_in "stale: what to do" "run \`cratis plan -out FILE\` again" "$T/a3"
expect_rc "nothing ran" "$n" "$(history_count)"

# stale: the state changed by another apply
write four
"$CRATIS" plan -f "$P" -out "$T/plan4" >/dev/null 2>&1
write five
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
write four
n=$(history_count)
"$CRATIS" apply "$T/plan4" >"$T/a4" 2>&1
expect_rc "state changed since: refused" 1 $?
expect_in "named" "saved plan is stale: the state changed since the plan was made: " "$T/a4"
expect_rc "nothing ran" "$n" "$(history_count)"
check "the state is untouched" test "$(tail -c 4 "$T/said")" = five

# stale: a manifest changed
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
write six
"$CRATIS" plan -f "$P" -out "$T/plan6" >/dev/null 2>&1
"$CRATIS" state list -f "$P" >"$T/s6a" 2>&1
printf '# edited\n' >>"$P/m.yaml"
"$CRATIS" apply "$T/plan6" >"$T/a6" 2>&1
expect_rc "manifest changed: refused" 1 $?
expect_in "the manifest is named" "saved plan is stale: manifest '$P/m.yaml' changed since the plan was made" "$T/a6"
"$CRATIS" state list -f "$P" >"$T/s6b" 2>&1
check "nothing changed" cmp -s "$T/s6a" "$T/s6b"
# a manifest added
write six
"$CRATIS" plan -f "$P" -out "$T/plan7" >/dev/null 2>&1
printf 'apiVersion: exec/v1\nkind: Task\nmetadata: {name: extra, project: demo}\nspec: {system: local, apply: [sh, -c, "exit 0"]}\n' >"$P/extra.yaml"
"$CRATIS" apply "$T/plan7" >"$T/a7" 2>&1
expect_rc "manifest added: refused" 1 $?
expect_in "the new manifest is named" "manifest '$P/extra.yaml' was added" "$T/a7"
rm "$P/extra.yaml"

# stale: a secret's value changed (its hash no longer matches)
CRATIS_T_PW="pw-saved-other-Uu12" "$CRATIS" apply "$T/plan7" >"$T/a8" 2>&1
expect_rc "secret changed: refused" 1 $?
expect_in "the secret is the reason" "saved plan is stale: Task/say: the value of a secret or sensitive variable in spec.env.PW changed" "$T/a8"
expect_not_in "no secret value in the message" "pw-saved-other" "$T/a8"
"$CRATIS" apply "$T/plan7" >"$T/a9" 2>&1
expect_rc "with the secret as planned it applies" 0 $?

# -target carried by the plan; -target with a plan file is a usage error
write seven
"$CRATIS" plan -f "$P" -target File/conf -out "$T/plan10" >/dev/null 2>"$T/p10.err"
expect_in "targeting warns" "resource targeting is in effect" "$T/p10.err"
"$CRATIS" apply "$T/plan10" >"$T/a10" 2>&1
expect_rc "a targeted saved plan" 0 $?
expect_in "only the target" "Apply complete: 1 succeeded" "$T/a10"
expect_in "applying a targeted plan warns" "resource targeting is in effect: this run covers only File/conf" "$T/a10"
"$CRATIS" apply "$T/plan10" -target Task/say >/dev/null 2>&1
expect_rc "-target with a plan file" 64 $?
# not a plan
printf '{"x": 1}\n' >"$T/notplan"
"$CRATIS" apply "$T/notplan" >"$T/a11" 2>&1
expect_rc "not a plan" 1 $?
expect_in "said so" "is not a saved plan" "$T/a11"
finish
