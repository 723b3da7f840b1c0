#!/bin/sh
# Proof of the database rules (issue 16): tests/transform/app/database_app.py transformed for
# aws runs with Debian's python3-psycopg2 against a throwaway PostgreSQL (tests/pg/with-postgres.sh
# starts it on loopback and stops it; skipped, 77, without PostgreSQL) with the connection from
# libpq's environment as on RDS: execute, query, a committed transaction (a `with` block) and one
# rolled back by an exception. The same app run untransformed through the SDK (sdk/python,
# INFRAR_PROVIDER=aws) prints the same lines.
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
. "$(dirname "$0")/../e2e/lib.sh"
# Debian's python3-psycopg2 lives in /usr/bin/python3's packages; a python3 earlier on PATH
# (pyenv, a venv) may not see it
PY=""
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import psycopg2' 2>/dev/null; then PY=$py; break; fi
done
if [ -z "$PY" ]; then
	fail "python3-psycopg2 missing: run sh scripts/setup.sh"
	finish
	exit 1
fi
export PGHOST=127.0.0.1 PGPORT="$CRATIS_TEST_PG_PORT" PGUSER=cratis PGSSLMODE=disable
mkdir -p "$T/build"
"$CRATIS" transform --provider aws -i "$SRC/tests/transform/app/database_app.py" -o "$T/build/database_app.py" >"$T/transform.out" 2>&1
expect_rc "transform the database app for aws" 0 $?
expect_in "the requirement is psycopg2" "requirement: psycopg2-binary>=2.9" "$T/transform.out"
check "the transformed app imports no infrar module" sh -c "! grep -Eq '^ *(import|from) infrar' '$T/build/database_app.py'"
expect_in "the transaction is a with block of the provider code" "with _pg_transaction(db) as tx:" "$T/build/database_app.py"
(cd "$T" && env -u PYTHONPATH "$PY" "$T/build/database_app.py" cratis) >"$T/transformed.out" 2>&1
expect_rc "the transformed app runs against PostgreSQL" 0 $?
cat "$T/transformed.out"
expect_in "execute returns the rows affected" "inserted 2" "$T/transformed.out"
expect_in "the committed transaction's update is kept" "user ada ada@example.org" "$T/transformed.out"
expect_in "a query inside a transaction sees its changes" "inside the failing transaction 0" "$T/transformed.out"
expect_in "the failed transaction rolled back" "rolled back on abort" "$T/transformed.out"
expect_in "the deleted rows are back" "user bob bob@example.com" "$T/transformed.out"
expect_in "the cursor of the transaction wrote in it" "audit ['ada moved']" "$T/transformed.out"
n=$(psql -h 127.0.0.1 -qAt -c 'SELECT count(*) FROM proof_users' cratis 2>&1)
check "PostgreSQL itself holds the two users (got $n)" test "$n" = 2
(cd "$T" && PYTHONPATH="$SRC/sdk/python" INFRAR_PROVIDER=aws "$PY" "$SRC/tests/transform/app/database_app.py" cratis) >"$T/sdk.out" 2>&1
expect_rc "the untransformed app runs through the SDK" 0 $?
check "the SDK run prints what the transformed run printed" cmp -s "$T/sdk.out" "$T/transformed.out"
finish
