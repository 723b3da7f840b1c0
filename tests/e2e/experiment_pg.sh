#!/bin/sh
# tests/e2e/experiment_aa.sh with the state in PostgreSQL (docs/state.md): the experiment's record
# (compare-and-set), the variant releases and the events in a throwaway PostgreSQL 15 started by
# tests/pg/with-postgres.sh (skipped, exit 77, when PostgreSQL is not installed).
if [ -z "${CRATIS_TEST_PG_URL:-}" ]; then
	exec sh "$(cd "$(dirname "$0")/../pg" && pwd)/with-postgres.sh" sh "$0" "$@"
fi
unset CRATIS_STATE_DIR
export CRATIS_STATE="$CRATIS_TEST_PG_URL?schema=e2e_experiment"
. "$(dirname "$0")/experiment_aa.sh"
