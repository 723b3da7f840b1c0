"""The database proof (tests/transform/aws_postgres.sh): every infrar.database operation against
a real PostgreSQL. usage: database_app.py DATABASE"""
import sys

from infrar.database import query, execute, transaction


def main(db):
    execute(db, 'DROP TABLE IF EXISTS proof_audit, proof_users')
    execute(db, 'CREATE TABLE proof_users (name text PRIMARY KEY, email text)')
    execute(db, 'CREATE TABLE proof_audit (what text)')
    print('inserted', execute(db, 'INSERT INTO proof_users VALUES (%s, %s), (%s, %s)',
                              ['ada', 'ada@example.com', 'bob', 'bob@example.com']))
    with transaction(db) as tx:
        execute(db, sql='UPDATE proof_users SET email = %(e)s WHERE name = %(n)s',
                params={'e': 'ada@example.org', 'n': 'ada'})
        tx.execute('INSERT INTO proof_audit VALUES (%s)', ['ada moved'])
    try:
        with transaction(database=db):
            execute(db, 'DELETE FROM proof_users')
            print('inside the failing transaction', query(db, 'SELECT count(*) FROM proof_users')[0][0])
            raise RuntimeError('abort')
    except RuntimeError as e:
        print('rolled back on', e)
    for name, email in query(db, 'SELECT name, email FROM proof_users ORDER BY name'):
        print('user', name, email)
    print('audit', [r[0] for r in query(db, 'SELECT what FROM proof_audit')])


if __name__ == '__main__':
    main(sys.argv[1])
