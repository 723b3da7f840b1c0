"""PostgreSQL: query, execute, transaction on the provider of INFRAR_PROVIDER.

The calls do what ``cratis transform`` turns them into (plugins/database/transformations/
rules.yaml), so code behaves the same before and after it is transformed: psycopg2, one
connection per database opened on first use in autocommit mode, host, port, user, password
and sslmode from libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE). On gcp
an unset PGHOST means the Cloud SQL socket /cloudsql/$INSTANCE_CONNECTION_NAME; on azure an
unset PGSSLMODE means ``require``. SQL uses psycopg2's placeholders (%s, %(name)s).
"""
import contextlib
import os

from infrar import _provider

__all__ = ["query", "execute", "transaction", "DatabaseError"]

_connections = {}


class DatabaseError(RuntimeError):
    """A database call failed; psycopg2's exception is the __cause__."""


def _connect(database):
    provider = _provider.current()
    conn = _connections.get((provider, database))
    if conn is None or conn.closed:
        import psycopg2
        kw = {"dbname": database}
        if provider == "gcp":
            kw["host"] = os.environ.get("PGHOST") or "/cloudsql/" + os.environ["INSTANCE_CONNECTION_NAME"]
        elif provider == "azure":
            kw["sslmode"] = os.environ.get("PGSSLMODE", "require")
        conn = psycopg2.connect(**kw)
        conn.autocommit = True
        _connections[(provider, database)] = conn
    return conn


def _run(database, sql, params, fetch):
    try:
        with _connect(database).cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if fetch else cur.rowcount
    except _provider.ProviderError:
        raise
    except Exception as e:
        raise DatabaseError("%s: %s" % (database, e)) from e


def query(database, sql, params=None):
    """The rows ``sql`` returns on ``database``, a list of tuples."""
    return _run(database, sql, params, True)


def execute(database, sql, params=None):
    """Run ``sql`` on ``database``; the number of rows it affected."""
    return _run(database, sql, params, False)


@contextlib.contextmanager
def transaction(database):
    """``with transaction(db) as tx:`` -- query and execute on ``database`` inside the block,
    and ``tx`` (a psycopg2 cursor), are one transaction: committed when the block ends, rolled
    back when it raises. A transaction inside one of the same database joins it."""
    conn = _connect(database)
    if not conn.autocommit:
        with conn.cursor() as cur:
            yield cur
        return
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        conn.autocommit = True
