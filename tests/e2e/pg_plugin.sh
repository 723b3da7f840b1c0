#!/bin/sh
# The postgres plugin (docs/postgres.md): a System of type postgres whose password is a {secret:}
# reference; Role, Database and Migration applied to a throwaway PostgreSQL 15 and observed; a
# role dropped or altered out of band shows as drift and apply restores it; migrations in version
# order with a Flyway-style history; a changed applied migration refused naming both checksums;
# a failing migration rolled back (its table absent, its history row success=false) and retried
# once fixed; a no-transaction migration (CREATE INDEX CONCURRENTLY); a repeatable migration
# re-run when it changes; deletionProtection refusing to drop a database that holds tables; no
# password in state. Runs under tests/pg/with-postgres.sh (skipped, exit 77, without PostgreSQL).
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ADMIN_PW="$PGPASSWORD"
APP_PW="app-pw-Qx81v"
P="$T/p"
mkdir -p "$P/db"
# cratis gets the admin password only through the {secret: pg_admin} reference: no PGPASSWORD
C() { env -u PGPASSWORD ADMIN_PW="$ADMIN_PW" APP_PW="$APP_PW" "$CRATIS" "$@" -f "$P" --env dev </dev/null; }
# psql as the server's superuser on database $1
Q() { db=$1; shift; "$PGBIN/psql" -h 127.0.0.1 -p "$CRATIS_TEST_PG_PORT" -U cratis -d "$db" -qAtX -v ON_ERROR_STOP=1 "$@"; }
manifest() { # $1: deletionProtection of the database
	cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: pg}
spec:
  type: postgres
  host: 127.0.0.1
  port: $CRATIS_TEST_PG_PORT
  user: cratis
  auth: {password: {secret: pg_admin}}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec: {systems: [pg]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
spec:
  secrets:
    pg_admin: {env: ADMIN_PW}
    app_pw: {env: APP_PW}
---
apiVersion: postgres/v1
kind: Role
metadata: {name: readers}
spec: {}
---
apiVersion: postgres/v1
kind: Role
metadata: {name: app}
spec:
  login: true
  password: "\${secret:app_pw}"
  inRoles: ["\${Role/readers.outputs.name}"]
---
apiVersion: postgres/v1
kind: Role
metadata: {name: analyst}
spec: {login: true, connectionLimit: 2}
---
apiVersion: postgres/v1
kind: Database
metadata: {name: shop}
spec:
  owner: "\${Role/app.outputs.name}"
  extensions: [pgcrypto]
  deletionProtection: $1
---
apiVersion: postgres/v1
kind: Migration
metadata: {name: schema}
spec:
  database: "\${Database/shop.outputs.name}"
  path: db
YAML
}
manifest true
printf 'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO users (name) VALUES ('"'"'ada'"'"');\n' >"$P/db/V1__create_users.sql"
printf 'ALTER TABLE users ADD COLUMN email text;\n' >"$P/db/V2__add_email.sql"
printf 'INSERT INTO users (name) VALUES ('"'"'grace'"'"');\n' >"$P/db/V10__more_users.sql"

# 1. create, observe, nothing left to do
C plan >"$T/plan0.out" 2>&1
expect_rc "plan of a postgres System and its kinds" 0 $?
C apply --auto-approve >"$T/apply1.out" 2>&1
expect_rc "apply creates the roles, the database and migrates it" 0 $?
check "the database exists, owned by app" test "$(Q postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'")" = app
check "its extension is created" test "$(Q shop -c "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'")" = 1
check "app logs in with its password" test "$(PGPASSWORD="$APP_PW" "$PGBIN/psql" -h 127.0.0.1 -p "$CRATIS_TEST_PG_PORT" -U app -d shop -qAtX -c 'SELECT current_user')" = app
check "app is a member of readers" test "$(Q postgres -c "SELECT pg_has_role('app', 'readers', 'MEMBER')")" = t
check "analyst has its connection limit" test "$(Q postgres -c "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'analyst'")" = 2
Q shop -c "SELECT version FROM cratis_schema_history WHERE success ORDER BY installed_rank" | tr '\n' ' ' >"$T/order"
expect_in "migrations in version order (10 after 2)" "1 2 10 " "$T/order"
Q shop -c "SELECT description, script, type, installed_by, execution_time >= 0 FROM cratis_schema_history WHERE version = '1'" >"$T/row1"
expect_in "the history row is Flyway's" "create users|V1__create_users.sql|SQL|cratis|t" "$T/row1"
want=$(python3 -c 'import sys, zlib; c = zlib.crc32(open(sys.argv[1], "rb").read()); print(c - (1 << 32) if c >= 1 << 31 else c)' "$P/db/V1__create_users.sql")
check "the checksum is the file's CRC32" test "$(Q shop -c "SELECT checksum FROM cratis_schema_history WHERE version = '1'")" = "$want"
C plan --detailed-exitcode >"$T/plan1.out" 2>&1
expect_rc "nothing to do after apply" 0 $?

# 2. drift: a role dropped, another altered out of band
Q postgres -c "DROP ROLE analyst"
C plan >"$T/plan2.out" 2>&1
expect_in "a dropped role is drift" "Role/analyst" "$T/plan2.out"
expect_in "the plan says why" "recorded but no longer exists" "$T/plan2.out"
C apply --auto-approve >"$T/apply2.out" 2>&1
expect_rc "apply recreates the role" 0 $?
check "the role is back" test "$(Q postgres -c "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'analyst'")" = 2
Q postgres -c "ALTER ROLE analyst CONNECTION LIMIT 10"
C plan >"$T/plan3.out" 2>&1
expect_in "an altered role is drift with its reason" "role 'analyst' has connection limit 10, expected 2" "$T/plan3.out"
C apply --auto-approve >/dev/null 2>&1
check "apply restores the limit" test "$(Q postgres -c "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'analyst'")" = 2
Q postgres -c "REVOKE readers FROM app"
C plan >"$T/plan4.out" 2>&1
expect_in "a lost membership is drift" "role 'app' is not a member of 'readers'" "$T/plan4.out"
C apply --auto-approve >/dev/null 2>&1
check "apply grants it again" test "$(Q postgres -c "SELECT pg_has_role('app', 'readers', 'MEMBER')")" = t

# 3. a new migration: plan lists it by version, apply runs it
printf 'CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users (id));\n' >"$P/db/V11__orders.sql"
C plan >"$T/plan5.out" 2>&1
expect_in "plan lists the pending migration" "V11__orders" "$T/plan5.out"
expect_in "plan says it is pending" "1 pending migration: V11__orders" "$T/plan5.out"
C plan -o json >"$T/plan5.json" 2>&1
check "the JSON plan lists it as a change" python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if "V11__orders" in json.dumps(d) else 1)' "$T/plan5.json"
C apply --auto-approve >"$T/apply5.out" 2>&1
expect_rc "apply runs it" 0 $?
check "its table exists" test "$(Q shop -c "SELECT to_regclass('orders') IS NOT NULL")" = t

# 4. an applied migration that changed is refused, naming both checksums
cp "$P/db/V2__add_email.sql" "$T/V2.keep"
printf 'ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '"''"';\n' >"$P/db/V2__add_email.sql"
new=$(python3 -c 'import sys, zlib; c = zlib.crc32(open(sys.argv[1], "rb").read()); print(c - (1 << 32) if c >= 1 << 31 else c)' "$P/db/V2__add_email.sql")
old=$(Q shop -c "SELECT checksum FROM cratis_schema_history WHERE version = '2'")
C plan >"$T/plan6.out" 2>&1
expect_in "plan shows the changed migration" "V2__add_email.sql was applied with checksum $old but the file now has checksum $new" "$T/plan6.out"
C apply --auto-approve >"$T/apply6.out" 2>&1
expect_rc "apply refuses it" 1 $?
expect_in "naming both checksums" "V2__add_email.sql was applied with checksum $old but the file now has checksum $new" "$T/apply6.out"
cp "$T/V2.keep" "$P/db/V2__add_email.sql"

# 5. a failing migration is rolled back and marked; fixed, it is retried
printf 'CREATE TABLE coupons (code text);\nINSERT INTO no_such_table VALUES (1);\n' >"$P/db/V12__coupons.sql"
C apply --auto-approve >"$T/apply7.out" 2>&1
expect_rc "a failing migration fails the apply" 1 $?
expect_not_in "server notices do not reach stderr" "NOTICE:" "$T/apply7.out"
expect_in "the error names the file, the line and the server's message" 'V12__coupons.sql failed at line 2: relation "no_such_table" does not exist' "$T/apply7.out"
check "its table was rolled back" test "$(Q shop -c "SELECT to_regclass('coupons') IS NULL")" = t
check "its history row says success=false" test "$(Q shop -c "SELECT success FROM cratis_schema_history WHERE version = '12'")" = f
printf 'CREATE TABLE coupons (code text);\n' >"$P/db/V12__coupons.sql"
C apply --auto-approve >"$T/apply8.out" 2>&1
expect_rc "fixed, the next apply retries it" 0 $?
check "its table exists now" test "$(Q shop -c "SELECT to_regclass('coupons') IS NOT NULL")" = t
check "one history row for it, successful" test "$(Q shop -c "SELECT string_agg(success::text, ',') FROM cratis_schema_history WHERE version = '12'")" = true

# 6. no transaction: CREATE INDEX CONCURRENTLY (refused inside a transaction block)
printf -- '-- cratis:no-transaction\nCREATE INDEX CONCURRENTLY users_name ON users (name);\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n' >"$P/db/V13__indexes.sql"
C apply --auto-approve >"$T/apply9.out" 2>&1
expect_rc "a no-transaction migration applies" 0 $?
check "both indexes exist" test "$(Q shop -c "SELECT count(*) FROM pg_indexes WHERE indexname IN ('users_name', 'users_email')")" = 2

# 7. repeatable migrations run after the versioned ones, again when they change
printf 'CREATE OR REPLACE VIEW user_names AS SELECT name FROM users;\n' >"$P/db/R__views.sql"
C apply --auto-approve >/dev/null 2>&1
check "the repeatable migration ran" test "$(Q shop -c "SELECT count(*) FROM cratis_schema_history WHERE script = 'R__views.sql' AND success")" = 1
C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "unchanged, it does not run again" 0 $?
printf 'CREATE OR REPLACE VIEW user_names AS SELECT name, email FROM users;\n' >"$P/db/R__views.sql"
C plan >"$T/plan10.out" 2>&1
expect_in "changed, plan lists it" "R__views" "$T/plan10.out"
C apply --auto-approve >/dev/null 2>&1
check "it ran again" test "$(Q shop -c "SELECT count(*) FROM cratis_schema_history WHERE script = 'R__views.sql' AND success")" = 2
check "the view has the new column" test "$(Q shop -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'user_names' AND column_name = 'email'")" = 1

# 8. no password in state, plans or output
(cd "$P" && sqlite3 .cratis/state.db .dump) >"$T/dump"
for f in dump apply1.out plan0.out; do
	expect_not_in "no role password in $f" "$APP_PW" "$T/$f"
	expect_not_in "no admin password in $f" "$ADMIN_PW" "$T/$f"
done
expect_in "state keeps the role password's redacted form" "(sensitive) hmac-sha256:" "$T/dump"

# 9. System types and fields are checked
sed 's/type: postgres/type: postgress/' "$P/m.yaml" >"$T/typo.yaml"
"$CRATIS" plan -f "$T/typo.yaml" --env dev >"$T/typo.out" 2>&1
expect_rc "an unknown System type is refused" 1 $?
expect_in "naming the types plugins implement" "no plugin implements it (available: local, postgres, ssh)" "$T/typo.out"
sed 's/  host: 127.0.0.1/  hots: 127.0.0.1/' "$P/m.yaml" >"$T/field.yaml"
"$CRATIS" plan -f "$T/field.yaml" --env dev >"$T/field.out" 2>&1
expect_rc "an unknown field of a postgres System is refused" 1 $?
expect_in "with a did-you-mean" "did you mean 'host'?" "$T/field.out"

"$CRATIS" explain postgres/System >"$T/explain.out" 2>&1
expect_in "explain shows a postgres System's fields" "spec.auth.password <object>" "$T/explain.out"
"$CRATIS" explain postgres/Database.deletionProtection >"$T/explain2.out" 2>&1
expect_in "and the kinds' defaults" "spec.deletionProtection <boolean> (default: true)" "$T/explain2.out"

# 10. deletionProtection: a database that holds tables is not dropped unless it is false
C destroy --auto-approve >"$T/destroy1.out" 2>&1
expect_rc "destroy refuses the protected database" 1 $?
expect_in "naming deletionProtection" "refusing to drop it while deletionProtection is true" "$T/destroy1.out"
check "the database is still there" test "$(Q postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" = 1
manifest false
C apply --auto-approve >"$T/apply11.out" 2>&1
expect_rc "apply deletionProtection: false" 0 $?
C destroy --auto-approve >"$T/destroy2.out" 2>&1
expect_rc "destroy drops it" 0 $?
check "the database is gone" test "$(Q postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" = 0
check "the roles are gone" test "$(Q postgres -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('app', 'readers', 'analyst')")" = 0

# 11. examples/postgres: role, database, migrations, and a web app reading them, released
# blue/green; the Migration is the Rollout's beforePreProd hook (task: Migration/schema), so the
# schema moves before the new release starts, and a failing migration aborts the release while the
# live one keeps serving; the server found through PGHOST/PGPORT/PGUSER
E="$T/example"
cp -r "$SRC/examples/postgres" "$E"
rm -rf "$E/.cratis"
export SHOP_ACTIVE_PORT=$(free_port) SHOP_PREVIEW_PORT=$(free_port)
EX() { env -u PGPASSWORD PGHOST=127.0.0.1 PGPORT="$CRATIS_TEST_PG_PORT" PGUSER=cratis ADMIN_PW="$ADMIN_PW" APP_PW="$APP_PW" \
	"$CRATIS" "$@" -f "$E" </dev/null; }
stop_example() { EX destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_example"
APP_VERSION=v1 EX apply --auto-approve >"$T/ex1.out" 2>&1
expect_rc "the example applies" 0 $?
curl -s --max-time 5 "http://127.0.0.1:$SHOP_ACTIVE_PORT/" >"$T/ex1.body"
expect_in "its app serves v1 with a row from the database" "<h1>shop v1</h1><p>first customer: Ada Lovelace</p>" "$T/ex1.body"
check "its migrations are recorded" test "$(Q shop -c "SELECT string_agg(coalesce(version, 'R'), ' ' ORDER BY installed_rank) FROM cratis_schema_history WHERE success")" = "1 2 3 R"
cp "$E/next/V4__more_users.sql" "$E/db/"
APP_VERSION=v2 EX plan >"$T/ex2.plan" 2>&1
expect_in "the next release's plan lists the pending migration" "V4__more_users" "$T/ex2.plan"
APP_VERSION=v2 EX apply --auto-approve >"$T/ex2.out" 2>&1
expect_rc "the next release applies" 0 $?
roll=$(grep -n "Rollout/web: updating" "$T/ex2.out" | head -1 | cut -d: -f1)
mig=$(grep -n "Migration/schema: updated" "$T/ex2.out" | head -1 | cut -d: -f1)
pre=$(grep -n "web: exitTests hook 1 passed" "$T/ex2.out" | head -1 | cut -d: -f1)
check "the migration ran inside the rollout, before the new release started" \
	test -n "$roll" -a -n "$mig" -a -n "$pre" -a "${roll:-0}" -lt "${mig:-0}" -a "${mig:-0}" -lt "${pre:-0}"
check "V4's history row is there" test "$(Q shop -c "SELECT count(*) FROM cratis_schema_history WHERE version = '4' AND success")" = 1
EX rollout history web -o json >"$T/ex2.status" 2>&1
python3 - "$T/ex2.status" >"$T/ex2.stages" <<'PY'
import json, sys
rels = json.load(open(sys.argv[1]))
new = [r for r in rels if r["release"].startswith("r2-")][0]
for s in new["stages"]:
    print(s["stage"], s["result"], s["output"].split(":")[0])
PY
expect_in "the release records the hook's migration, before its island started" \
	"beforePreProd ok Migration/schema applied
beforePreProd ok
preProd started" "$T/ex2.stages"
curl -s --max-time 5 "http://127.0.0.1:$SHOP_ACTIVE_PORT/" >"$T/ex2.body"
expect_in "v2 is live" "<h1>shop v2</h1>" "$T/ex2.body"
check "V4 ran" test "$(Q shop -c "SELECT count(*) FROM users")" = 2
# a failing migration in the hook: the release is aborted before its island, v2 keeps serving
printf "INSERT INTO no_such_table VALUES (1);\n" >"$E/db/V5__broken.sql"
APP_VERSION=v3 EX apply --auto-approve >"$T/ex3.out" 2>&1
expect_rc "a release whose migration fails is refused" 1 $?
expect_in "naming the hook and the migration" "beforePreProd hook 1 (Migration/schema) failed" "$T/ex3.out"
expect_in "and the release aborted before its island" "aborted before its island was built" "$T/ex3.out"
expect_not_in "no v3 island started" "exitTests hook" "$T/ex3.out"
check "V5 is marked failed in the history" test "$(Q shop -c "SELECT count(*) FROM cratis_schema_history WHERE version = '5' AND NOT success")" = 1
curl -s --max-time 5 "http://127.0.0.1:$SHOP_ACTIVE_PORT/" >"$T/ex3.body"
expect_in "v2 still serves" "<h1>shop v2</h1>" "$T/ex3.body"
EX rollout history web -o json >"$T/ex3.status" 2>&1
expect_in "the v3 release is recorded failed" '"status": "failed"' "$T/ex3.status"
# the hook names a resource that does not exist: refused at plan, with a did-you-mean
sed 's|task: Migration/schema|task: Migration/schemas|' "$E/shop.yaml" >"$T/typo-shop.yaml"
mkdir -p "$T/typo" && cp "$T/typo-shop.yaml" "$T/typo/shop.yaml"
APP_VERSION=v3 env -u PGPASSWORD ADMIN_PW=x APP_PW=y "$CRATIS" validate -f "$T/typo" >"$T/typo-hook.out" 2>&1
expect_rc "a hook naming an unknown resource is refused" 1 $?
expect_in "with a did-you-mean" "did you mean 'Migration/schema'?" "$T/typo-hook.out"
rm -f "$E/db/V5__broken.sql"
finish
