#!/bin/sh
# What the user sees while things run (issue 10, Progress): results (plans, tables, the apply and
# destroy summaries) on stdout, progress and diagnostics on stderr; off a terminal a "still
# creating" line per resource still running every CRATIS_PROGRESS_INTERVAL seconds; --stream (and
# -v) print a Task's output lines prefixed by its address; no colour in a pipe.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: slow}
spec:
  apply: [sh, -c, 'echo out-line-one; sleep 3; echo err-line-two >&2']
---
apiVersion: exec/v1
kind: Task
metadata: {name: quick}
spec:
  apply: [echo, quick-output]
YAML
C() { "$CRATIS" "$@" -f "$P" --env staging; }
esc=$(printf '\033')

C plan >"$T/plan.out" 2>"$T/plan.err"
expect_rc "plan" 0 $?
expect_in "plan: the plan on stdout" "Plan: 2 to create" "$T/plan.out"
check "plan: nothing on stderr" test ! -s "$T/plan.err"

CRATIS_PROGRESS_INTERVAL=1 C apply --auto-approve >"$T/a1.out" 2>"$T/a1.err"
expect_rc "apply" 0 $?
expect_in "apply: the plan on stdout" "+   Task/slow" "$T/a1.out"
expect_in "apply: the summary on stdout" "Apply complete: 2 succeeded, 0 failed, 0 skipped" "$T/a1.out"
expect_not_in "apply: no progress on stdout" "creating" "$T/a1.out"
expect_in "apply: progress on stderr" "Task/slow: creating" "$T/a1.err"
expect_in "apply: finished lines on stderr" "Task/slow: created in" "$T/a1.err"
expect_not_in "apply: no summary on stderr" "Apply complete" "$T/a1.err"
expect_in "a task running longer than the interval is reported still running" "Task/slow: still creating... [" "$T/a1.err"
expect_not_in "without --stream, no task output" "out-line-one" "$T/a1.err"
check "no ANSI sequences in a pipe (stdout)" sh -c "! grep -q '$esc' '$T/a1.out'"
check "no ANSI sequences in a pipe (stderr)" sh -c "! grep -q '$esc' '$T/a1.err'"

# apply > out leaves the results in out: a second apply says there is nothing to do there
C apply --auto-approve >"$T/a2.out" 2>"$T/a2.err"
expect_in "no changes: said on stdout" "No changes. Environment 'staging' matches the manifests." "$T/a2.out"

C get >"$T/get.out" 2>"$T/get.err"
expect_rc "get" 0 $?
expect_in "get: the table on stdout" "Task/slow" "$T/get.out"
check "get: nothing on stderr" test ! -s "$T/get.err"

# --stream: the task's lines, stdout and stderr, prefixed by its address, on stderr
sed -i 's/out-line-one/out-line-one-again/' "$P/m.yaml"
C apply --auto-approve --stream >"$T/a3.out" 2>"$T/a3.err"
expect_rc "apply --stream" 0 $?
expect_in "--stream: a stdout line, prefixed" "Task/slow: out-line-one-again" "$T/a3.err"
expect_in "--stream: a stderr line, prefixed" "Task/slow: err-line-two" "$T/a3.err"
expect_not_in "--stream: nothing streamed to stdout" "Task/slow: out-line-one-again" "$T/a3.out"
sed -i 's/out-line-one-again/out-line-three/' "$P/m.yaml"
C apply --auto-approve -v >"$T/a4.out" 2>"$T/a4.err"
expect_in "-v streams too" "Task/slow: out-line-three" "$T/a4.err"

# a failure: the error on stderr, the summary on stdout
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: broken}
spec:
  apply: [sh, -c, 'echo it broke >&2; exit 3']
YAML
C apply --auto-approve >"$T/a5.out" 2>"$T/a5.err"
expect_rc "a failing apply" 1 $?
expect_in "failure: the error on stderr" "error: Task/broken: create failed" "$T/a5.err"
expect_in "failure: the summary on stdout" "Apply failed: 0 succeeded, 1 failed, 0 skipped" "$T/a5.out"

C destroy --auto-approve >"$T/d.out" 2>"$T/d.err"
expect_rc "destroy" 0 $?
expect_in "destroy: the plan on stdout" "-   Task/slow" "$T/d.out"
expect_in "destroy: the summary on stdout" "Destroy complete: 3 succeeded" "$T/d.out"
expect_in "destroy: progress on stderr" "Task/slow: deleting" "$T/d.err"
expect_not_in "destroy: no summary on stderr" "Destroy complete" "$T/d.err"

"$CRATIS" --help >"$T/help" 2>&1
expect_in "help documents the interval" "CRATIS_PROGRESS_INTERVAL" "$T/help"
finish
