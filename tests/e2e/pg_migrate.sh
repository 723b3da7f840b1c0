#!/bin/sh
# cratis state migrate (docs/state.md): the state of a project on SQLite copied to PostgreSQL and
# back again leaves `state list -o json`, `history -o json` (and each deployment's steps) and
# `artifact list -o json` identical; the source file is not written; a target that already holds
# cratis data is refused with nothing written; a source holding a lock is refused (exit 3); after
# the copy, runs on the new store go on where the old one stopped (deployment ids follow). Runs
# under tests/pg/with-postgres.sh (skipped, exit 77, without PostgreSQL).
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
PG="$CRATIS_TEST_PG_URL?schema=e2e_migrate"
P="$T/p"
mkdir -p "$P"
export GATE="$T/gate"
cat >"$P/m.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
spec:
  environments: [staging, production]
---
apiVersion: exec/v1
kind: Task
metadata: {name: prepare}
spec:
  system: local
  apply: [sh, -c, 'echo "prepared $0"', "${env:RUN}"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: flaky}
spec:
  system: local
  apply: [sh, -c, 'if [ "$0" = fail ]; then echo "it broke: \"quoted\" ü" >&2; exit 1; fi; while [ ! -e "$1" ]; do sleep 0.1; done', "${env:MODE}", "${env:GATE}", "${env:RUN}"]
  dependsOn: [Task/prepare]
---
apiVersion: exec/v1
kind: Task
metadata: {name: old}
spec:
  system: local
  apply: ["true"]
YAML
touch "$GATE"
C() { "$CRATIS" "$@" -f "$P" </dev/null; }

# 1. history on SQLite (the default state): a failure, successes, two environments, a forget,
#    artifacts (a stable version, a snapshot recorded twice)
RUN=1 MODE=fail C apply --env staging --auto-approve >"$T/a1.out" 2>&1
expect_rc "a failing apply on SQLite" 1 $?
RUN=2 MODE=ok C apply --env staging --auto-approve >"$T/a2.out" 2>&1
expect_rc "apply staging on SQLite" 0 $?
RUN=3 MODE=ok C apply --env production --auto-approve >"$T/a3.out" 2>&1
expect_rc "apply production on SQLite" 0 $?
C state rm Task/old --env production >"$T/rm.out" 2>&1
expect_rc "state rm on SQLite" 0 $?
C artifact record web 1.0.0 sha256:aaaa >/dev/null 2>&1 &&
	C artifact record web 1.1.0-SNAPSHOT sha256:bbbb >/dev/null 2>&1 &&
	C artifact record web 1.1.0-SNAPSHOT sha256:cccc >/dev/null 2>&1 &&
	C artifact record api 2.0.0 sha256:dddd >/dev/null 2>&1
expect_rc "artifacts recorded on SQLite" 0 $?

# snapshot NAME [--state URL]: every query whose output must survive the round trip
snapshot() {
	out="$T/$1"
	shift
	: >"$out"
	for e in staging production; do
		C state list --env "$e" -o json "$@" >>"$out" 2>&1 || echo "state list failed" >>"$out"
		C history --env "$e" -o json "$@" >>"$out" 2>&1 || echo "history failed" >>"$out"
	done
	for id in $(C history --env staging -o json "$@" 2>/dev/null | sed -n 's/^ *"id": \([0-9]*\),*$/\1/p') \
	          $(C history --env production -o json "$@" 2>/dev/null | sed -n 's/^ *"id": \([0-9]*\),*$/\1/p'); do
		C history "$id" -o json "$@" >>"$out" 2>&1 || echo "steps of $id failed" >>"$out"
	done
	C artifact list -o json "$@" >>"$out" 2>&1 || echo "artifact list failed" >>"$out"
	C artifact list --history -o json "$@" >>"$out" 2>&1 || echo "artifact history failed" >>"$out"
}
snapshot sqlite.json
check "the snapshot holds the failed step's message" grep -q 'it broke' "$T/sqlite.json"
check "the snapshot holds the forget step" grep -q '"forget"' "$T/sqlite.json"
check "the snapshot holds every artifact row" test "$(grep -c '"digest"' "$T/sqlite.json")" -ge 6
db="$P/.cratis/state.db"
before=$(sha256sum <"$db")

# 2. sqlite -> postgres
C state migrate --to "$PG" >"$T/m1.out" 2>&1
expect_rc "state migrate --to postgres://" 0 $?
expect_in "it reports the verification" "Verified" "$T/m1.out"
expect_in "it counts the deployments" "deployments" "$T/m1.out"
check "the source file is unchanged" test "$(sha256sum <"$db")" = "$before"
snapshot pg.json --state "$PG"
check "state list, history, steps and artifacts are identical on PostgreSQL" cmp "$T/sqlite.json" "$T/pg.json"
[ -s "$T/pg.json" ] && cmp -s "$T/sqlite.json" "$T/pg.json" || diff "$T/sqlite.json" "$T/pg.json" | head -20

# 3. postgres -> sqlite (another file): the round trip
C state migrate --from "$PG" --to "sqlite:$T/back.db" -o json >"$T/m2.json" 2>"$T/m2.err"
expect_rc "state migrate --from postgres:// --to sqlite:" 0 $?
check "-o json reports it verified" grep -q '"verified": true' "$T/m2.json"
snapshot back.json --state "sqlite:$T/back.db"
check "the round trip sqlite -> postgres -> sqlite is identical" cmp "$T/sqlite.json" "$T/back.json"

# 4. a target that holds cratis data is refused, nothing written
C state migrate --to "$PG" >"$T/m3.out" 2>&1
expect_rc "a target with cratis data is refused" 1 $?
expect_in "the refusal says why" "already holds cratis data" "$T/m3.out"
snapshot pg2.json --state "$PG"
check "the refused target is unchanged" cmp "$T/sqlite.json" "$T/pg2.json"
C state migrate --to "sqlite:$T/back.db" --from "$PG" >"$T/m4.out" 2>&1
expect_rc "a SQLite target with cratis data is refused" 1 $?

# 5. runs go on on the new store: no changes planned, the next deployment id follows the copied ones
MODE=ok RUN=2 C plan --env staging --detailed-exitcode --state "$PG" >"$T/p1.out" 2>&1
expect_rc "the plan on the migrated store has no changes" 0 $?
last=$(C history --env staging -o json --state "$PG" | sed -n 's/^ *"id": \([0-9]*\),*$/\1/p' | sort -n | tail -1)
MODE=ok RUN=9 C apply --env staging --auto-approve --state "$PG" >"$T/a9.out" 2>&1
expect_rc "apply on the migrated store" 0 $?
new=$(C history --env staging -o json --state "$PG" | sed -n 's/^ *"id": \([0-9]*\),*$/\1/p' | sort -n | tail -1)
check "the new deployment's id follows the copied ones ($last -> $new)" test "$new" -gt "$last"

# 6. a source holding a lock is refused (exit 3), and nothing is written to the target
rm -f "$GATE"
MODE=ok RUN=10 "$CRATIS" apply -f "$P" --env staging --auto-approve </dev/null >"$T/held.out" 2>&1 &
hpid=$!
holding() { C state list --env staging | grep -q '^lock '; }
if wait_for 60 holding; then ok "a run holds the SQLite lock"; else fail "the run never took the lock"; fi
C state migrate --to "sqlite:$T/third.db" >"$T/m5.out" 2>&1
expect_rc "migrating a store with a lock held is refused" 3 $?
expect_in "the refusal names the lock" "lock is held" "$T/m5.out"
"$CRATIS" state list -f "$P" --env staging --state "sqlite:$T/third.db" -o json </dev/null >"$T/third.json" 2>&1
check "the target of the refused copy is empty" grep -qx '\[\]' "$T/third.json"
touch "$GATE"
wait "$hpid"
expect_rc "the run holding the lock finishes" 0 $?

# 7. Project spec.state.url: below --state and CRATIS_STATE, above the default; read by commands
#    that load the manifests and, for that field alone, by those that do not (state list, history)
Q="$T/q"
mkdir -p "$Q"
URL="$CRATIS_TEST_PG_URL?schema=e2e_project_url"
cat >"$Q/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: urlproj}
spec:
  state: {url: "$URL"}
---
apiVersion: exec/v1
kind: Task
metadata: {name: one}
spec:
  system: local
  apply: ["true"]
YAML
"$CRATIS" apply -f "$Q" --auto-approve </dev/null >"$T/u1.out" 2>&1
expect_rc "apply with the store named by Project spec.state.url" 0 $?
check "no SQLite state was written" test ! -e "$Q/.cratis/state.db"
"$CRATIS" state list -f "$Q" --env staging --state "$URL" </dev/null >"$T/u2.out" 2>&1
expect_in "the resource is recorded in that PostgreSQL schema" "urlproj/Task/one	ready" "$T/u2.out"
"$CRATIS" history -f "$Q" --env staging </dev/null >"$T/u3.out" 2>&1
expect_in "history (which loads no manifests) reads the same store" "succeeded" "$T/u3.out"
"$CRATIS" state list -f "$Q" --env staging --state "sqlite:$T/other.db" </dev/null >"$T/u4.out" 2>&1
expect_not_in "--state wins over spec.state.url" "Task/one" "$T/u4.out"
CRATIS_STATE="sqlite:$T/other.db" "$CRATIS" plan -f "$Q" --env staging --detailed-exitcode </dev/null >"$T/u5.out" 2>&1
expect_rc "CRATIS_STATE wins over spec.state.url (the plan on an empty store has changes)" 2 $?
sed -i 's|url: ".*"|url: "sqlite:own/state.db"|' "$Q/m.yaml"
mkdir -p "$Q/own" "$T/elsewhere"
(cd "$T/elsewhere" && "$CRATIS" apply -f "$Q" --auto-approve </dev/null >"$T/u7.out" 2>&1)
expect_rc "apply with a relative sqlite: path in spec.state.url" 0 $?
check "the relative path is taken from the project directory" test -s "$Q/own/state.db"
check "not from the working directory" test ! -e "$T/elsewhere/own"
sed -i 's|url: ".*"|url: "postgres://${env:USER}@127.0.0.1/x"|' "$Q/m.yaml"
"$CRATIS" plan -f "$Q" --env staging </dev/null >"$T/u6.out" 2>&1
expect_rc "a reference in spec.state.url is refused" 1 $?
expect_in "the error names the field" "spec.state.url: references are not expanded" "$T/u6.out"
finish
