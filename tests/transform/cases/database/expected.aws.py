"""Users in PostgreSQL: every database operation, a transaction as a `with` block."""
import logging

import psycopg2
import contextlib

_pg_connections = {}


def _pg_connect(database):
    conn = _pg_connections.get(database)
    if conn is None or conn.closed:
        # RDS PostgreSQL: host, port, user, password and sslmode from PGHOST, PGPORT, PGUSER,
        # PGPASSWORD, PGSSLMODE (libpq's own variables)
        conn = psycopg2.connect(dbname=database)
        conn.autocommit = True
        _pg_connections[database] = conn
    return conn

def _pg_query(database, sql, params):
    with _pg_connect(database).cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()

def _pg_execute(database, sql, params):
    with _pg_connect(database).cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount

@contextlib.contextmanager
def _pg_transaction(database):
    conn = _pg_connect(database)
    if not conn.autocommit:  # already inside a transaction of this database: join it
        with conn.cursor() as cur:
            yield cur
        return
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:  # commit at the end, roll back on an exception
            yield cur
    finally:
        conn.autocommit = True

log = logging.getLogger(__name__)  # untouched


def add_user(name, email):
    # both inserts commit together, or neither does
    with _pg_transaction('shop') as tx:
        _pg_execute('shop', 'INSERT INTO users (name, email) VALUES (%s, %s)', [name, email])
        tx.execute('INSERT INTO audit (what) VALUES (%s)', ['add ' + name])
    return count_users()


def count_users():
    return _pg_query('shop', 'SELECT count(*) FROM users', None)[0][0]


def rename(old, new):
    n = _pg_execute('shop', 'UPDATE users SET name = %(new)s WHERE name = %(old)s', {'old': old, 'new': new})
    if n == 0:
        log.warning('no user %s', old)
    with _pg_transaction('shop'), open('/dev/null') as sink:
        for row in _pg_query('shop', 'SELECT name FROM users', None):
            print(row[0], file=sink)
    return n
