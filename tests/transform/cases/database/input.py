"""Users in PostgreSQL: every database operation, a transaction as a `with` block."""
import logging

from infrar.database import query, execute, transaction as tx_of

log = logging.getLogger(__name__)  # untouched


def add_user(name, email):
    # both inserts commit together, or neither does
    with tx_of('shop') as tx:
        execute('shop', 'INSERT INTO users (name, email) VALUES (%s, %s)', [name, email])
        tx.execute('INSERT INTO audit (what) VALUES (%s)', ['add ' + name])
    return count_users()


def count_users():
    return query(database='shop', sql='SELECT count(*) FROM users')[0][0]


def rename(old, new):
    n = execute(
        'shop',
        sql='UPDATE users SET name = %(new)s WHERE name = %(old)s',
        params={'old': old, 'new': new},
    )
    if n == 0:
        log.warning('no user %s', old)
    with tx_of(database='shop'), open('/dev/null') as sink:
        for row in query('shop', 'SELECT name FROM users'):
            print(row[0], file=sink)
    return n
