#!/bin/sh
# Pull agents with the server on PostgreSQL state: tests/e2e/agents.sh as it is (two agents
# converge, server restart, drift, access, superseded work, SIGTERM), the records of the work,
# the agents and the deployments in a postgres:// store. Runs under tests/pg/with-postgres.sh.
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
unset CRATIS_STATE CRATIS_STATE_DIR
AGENTS_STATE="$CRATIS_TEST_PG_URL?schema=e2e_agents" exec sh "$(dirname "$0")/agents.sh"
