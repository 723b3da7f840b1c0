#!/bin/sh
# Run a command against a throwaway PostgreSQL 15: initdb in a temporary directory (as a non-root
# user when run as root: PostgreSQL refuses root), a server on a free loopback port and a unix
# socket in that directory, fsync off (tests only), a password for TCP logins (scram-sha-256)
# given to the command through PGPASSWORD, never in the URL. The command runs with
#   CRATIS_TEST_PG_URL=postgres://cratis@127.0.0.1:PORT/cratis
# and the server is stopped and its directory removed when the command ends, pass or fail.
# Exits with the command's status; 77 (skipped) when PostgreSQL is not installed.
#   usage: tests/pg/with-postgres.sh COMMAND [ARG...]
set -u
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
	echo "with-postgres: no PostgreSQL 15 in $PGBIN (sh scripts/setup.sh installs postgresql-15); skipped" >&2
	exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/cratis-pg.XXXXXX") || exit 1
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	# PostgreSQL does not run as root: the server and its files belong to nobody
	chown nobody "$dir" || exit 1
	as_owner() { runuser -u nobody -- "$@"; }
fi
chmod 700 "$dir"
password="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" >"$dir/pwfile"
chmod 600 "$dir/pwfile"
[ "$(id -u)" -ne 0 ] || chown nobody "$dir/pwfile"
stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$dir"
}
trap 'stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! as_owner "$PGBIN/initdb" -D "$dir/data" -U cratis --pwfile="$dir/pwfile" -A scram-sha-256 --auth-local=trust \
	-E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
	cat "$dir/initdb.log" >&2
	exit 1
fi
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
started=""
for attempt in 1 2 3 4 5; do
	port=$(free_port) || exit 1
	if as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null 2>&1; then
		started=1
		break
	fi
	# the port was taken between the probe and the bind: try another
done
if [ -z "$started" ]; then
	echo "with-postgres: the server did not start:" >&2
	cat "$dir/server.log" >&2
	exit 1
fi
as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U cratis -d postgres -qAt -c "CREATE DATABASE cratis" >/dev/null || exit 1
export CRATIS_TEST_PG_URL="postgres://cratis@127.0.0.1:$port/cratis"
export CRATIS_TEST_PG_SOCKET="$dir" CRATIS_TEST_PG_PORT="$port"
export PGPASSWORD="$password"
"$@"
