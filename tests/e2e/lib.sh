# Shared helpers for the end-to-end tests (sourced). Each test runs in its own temporary
# directory, removed on exit, and reports "ok"/"FAIL" lines plus a closing count.
set -u
CRATIS=${CRATIS:-$(cd "$(dirname "$0")/../.." && pwd)/build/cratis}
SRC=${CRATIS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/cratis-e2e-XXXXXX")
# every process this test starts inherits it: own_procs tells them from other tests' processes
export CRATIS_TEST_TMP="$T"
passed=0
failed=0
cleanup_hooks=""

# own_procs PATTERN: pids of the processes started by this test (they carry CRATIS_TEST_TMP=$T)
# whose command line matches PATTERN (pgrep -f); other tests running at the same time have theirs
own_procs() {
	for p in $(pgrep -f "$1"); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "CRATIS_TEST_TMP=$T" && echo "$p"
	done
	return 0
}

on_exit() {
	for h in $cleanup_hooks; do "$h" || true; done
	rm -rf "$T"
}
trap on_exit EXIT

ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

# check NAME COMMAND...: pass when the command succeeds
check() {
	name=$1; shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# expect_rc NAME WANT ACTUAL
expect_rc() {
	if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else fail "$1: expected exit $2, got $3"; fi
}

# expect_in NAME NEEDLE FILE
expect_in() {
	if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: '$2' not in $3:"; sed 's/^/    /' "$3"; fi
}

expect_not_in() {
	if grep -qF -- "$2" "$3"; then fail "$1: '$2' unexpectedly in $3:"; sed 's/^/    /' "$3"; else ok "$1"; fi
}

# A TCP port free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS COMMAND...: poll until the command succeeds
wait_for() {
	secs=$1; shift
	i=0
	while [ "$i" -lt $((secs * 20)) ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# demo_core FILE: write the core documents most tests start from (System local, Environment
# staging listing it, Project demo); append the resources with `cat >>FILE` from a `---` on.
demo_core() {
	cat >"$1" <<'YAML'
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
metadata: {name: demo}
YAML
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
