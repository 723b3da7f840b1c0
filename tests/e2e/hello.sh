#!/bin/sh
# End to end on examples/hello: apply -> HTTP 200 with the page; plan again -> no changes;
# change a variable -> only the changed resource updates; kill -9 during apply -> the next apply
# converges with no orphan process; two concurrent applies -> one fails naming the lock holder;
# destroy -> no process and no file left; scope violation refused before anything runs.
. "$(dirname "$0")/lib.sh"
P="$T/hello"
cp -r "$SRC/examples/hello" "$P"
rm -rf "$P/.cratis"
PORT=$(free_port)
export HELLO_STAGING_PORT="$PORT"
URL="http://127.0.0.1:$PORT/"
C() { "$CRATIS" "$@" -f "$P" --env staging; }
servers() { pgrep -f "http.server $PORT" | wc -l; }
stop_servers() { pkill -f "http.server $PORT" 2>/dev/null; return 0; }
cleanup_hooks="stop_servers"

# 1. apply, then the page answers
C apply --auto-approve >"$T/apply1.out" 2>"$T/apply1.err"
expect_rc "apply creates the example" 0 $?
expect_in "apply reports its deployment (on stdout)" "Apply complete: 3 succeeded, 0 failed, 0 skipped" "$T/apply1.out"
code=$(curl -s -o "$T/page" -w '%{http_code}' "$URL")
expect_rc "GET $URL answers 200" 200 "$code"
expect_in "the page carries the staging greeting" "<h1>hello from staging</h1>" "$T/page"
expect_rc "one server process" 1 "$(servers)"

# 2. plan again: no changes
C plan --detailed-exitcode >"$T/plan2.out" 2>&1
expect_rc "plan after apply has no changes" 0 $?
expect_in "plan summary" "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 3 unchanged." "$T/plan2.out"

# 3. change a variable: only the page is updated, the server keeps running
sed -i 's/greeting: hello from staging/greeting: hello, changed/' "$P/hello.yaml"
pid_before=$(pgrep -f "http.server $PORT")
C plan --detailed-exitcode >"$T/plan3.out" 2>&1
expect_rc "plan sees the change" 2 $?
expect_in "plan names the changed field" "File/page                        update (spec.content)" "$T/plan3.out"
C apply --auto-approve >"$T/apply3.out" 2>"$T/apply3.err"
expect_rc "apply of the change" 0 $?
expect_in "only the page changed" "Apply complete: 1 succeeded" "$T/apply3.out"
expect_not_in "the task was not re-run" "Task/prepare: updating" "$T/apply3.err"
expect_in "the new page is served" "hello, changed" "$(curl -s "$URL" >"$T/page3"; echo "$T/page3")"
expect_rc "the server was not restarted" "$pid_before" "$(pgrep -f "http.server $PORT")"

# 4. drift: the server dies; plan reports it, apply repairs it
stop_servers
wait_for 5 sh -c "[ \$(pgrep -f 'http[.]server $PORT' | wc -l) -eq 0 ]"
C plan --detailed-exitcode >"$T/plan4.out" 2>&1
expect_rc "plan detects drift" 2 $?
expect_in "drift reason" "Service/web                      update [drift: process is not running]" "$T/plan4.out"
C apply --auto-approve >/dev/null 2>&1
expect_rc "apply repairs drift" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL")"

# 5. kill -9 during an apply, then apply again: converges, one server, no orphan
sed -i 's|command: \[python3, -m, http.server|command: [sh, -c, "sleep 2; exec python3 -m http.server \\"$0\\" --bind 127.0.0.1 --directory \\"$1\\"", "${port}", "${root}"]\n  # was: [python3, -m, http.server|' "$P/hello.yaml"
# (cratis itself in the background, not a shell function: $! must be cratis' pid)
"$CRATIS" apply --auto-approve -f "$P" --env staging >/dev/null 2>"$T/apply5.err" &
apid=$!
wait_for 10 grep -q "Service/web: updating" "$T/apply5.err"
# kill it once the service's row is recorded pending (the plugin is starting it)
web_pending() { "$CRATIS" state list -f "$P" --env staging 2>/dev/null | grep -q "hello/Service/web	pending"; }
wait_for 10 web_pending
kill -9 "$apid"
wait "$apid" 2>/dev/null
C state list >"$T/state5.out" 2>&1
expect_in "the killed run left the service pending" "hello/Service/web	pending" "$T/state5.out"
C apply --auto-approve >/dev/null 2>"$T/apply6.err"
expect_rc "apply after kill -9 converges" 0 $?
expect_in "the stale lock was taken over" "which is no longer running" "$T/apply6.err"
expect_in "the interrupted resource is re-applied" "Service/web" "$T/apply6.err"
expect_rc "exactly one server after recovery" 1 "$(servers)"
expect_rc "page served after recovery" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL")"
C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "converged: no changes" 0 $?

# 6. two concurrent applies: the second fails at once, naming the holder
sed -i 's/greeting: hello, changed/greeting: hello, third/' "$P/hello.yaml"
sed -i 's/sleep 2; exec/sleep 3; exec/' "$P/hello.yaml"
"$CRATIS" apply --auto-approve -f "$P" --env staging >/dev/null 2>"$T/apply7.err" &
apid=$!
wait_for 10 grep -q ": updating" "$T/apply7.err"
C apply --auto-approve >/dev/null 2>"$T/apply8.err"
expect_rc "second concurrent apply is refused" 3 $?
expect_in "the holder is named" "environment 'staging' is locked by" "$T/apply8.err"
expect_in "with its pid and command" "pid $apid running 'cratis apply" "$T/apply8.err"
wait "$apid"
expect_rc "the first apply completes" 0 $?
C history >"$T/history.out" 2>&1
expect_in "history records deployments" "succeeded" "$T/history.out"

# 7. scope violation: refused before anything runs
cat >"$P/remote.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: elsewhere}
---
apiVersion: exec/v1
kind: Task
metadata: {name: remote-only}
spec:
  system: elsewhere
  apply: [touch, remote-ran]
YAML
C apply --auto-approve >/dev/null 2>"$T/apply9.err"
expect_rc "scope violation exits 1" 1 $?
expect_in "scope violation names file, field and environment" "remote.yaml:9:11: spec.system: scope violation: system 'elsewhere' is not in environment 'staging'" "$T/apply9.err"
check "nothing ran" test ! -e "$P/remote-ran"
rm "$P/remote.yaml"

# 8. destroy: no process, no file
C destroy --auto-approve >/dev/null 2>"$T/destroy.err"
expect_rc "destroy" 0 $?
wait_for 5 sh -c "[ \$(pgrep -f 'http[.]server $PORT' | wc -l) -eq 0 ]"
expect_rc "no server process left" 0 "$(servers)"
check "no page left" test ! -e "$P/.cratis/www/staging/index.html"
check "no site directory left" test ! -e "$P/.cratis/www/staging"
C get >"$T/get.out" 2>&1
expect_in "get shows the resources absent" "absent" "$T/get.out"
finish
