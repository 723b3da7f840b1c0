#!/bin/sh
# Fewer false changes (issue 10): an output of a resource that plans no change is its recorded
# value, so its dependents plan no change; an output that the plugin predicts in its plan reply
# (File: path and sha256) is known at plan time, so a File updated with byte-identical content
# (its mode) plans its dependents as no-ops and does not restart the Service that reads its
# sha256 (its pid stays), while new content plans the Service as an update showing the new digest
# and restarts it.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P/www"
PORT=$(free_port)
stop_service() { "$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1; }
cleanup_hooks="stop_service"
demo_core "$P/core.yaml"
cat >>"$P/core.yaml" <<YAML
---
apiVersion: file/v1
kind: File
metadata: {name: page, project: demo}
spec:
  path: www/index.html
  content: "hello\n"
  mode: "0644"
---
apiVersion: file/v1
kind: File
metadata: {name: stamp, project: demo}
spec:
  path: "www/stamp-\${File/page.outputs.sha256}.txt"
  content: "stamp\n"
---
apiVersion: service/v1
kind: Service
metadata: {name: web, project: demo}
spec:
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1, --directory, www]
  env: {PAGE_SHA256: "\${File/page.outputs.sha256}"}
  health: {http: "http://127.0.0.1:$PORT/", timeoutSeconds: 10}
---
apiVersion: exec/v1
kind: Task
metadata: {name: other, project: demo}
spec: {apply: [echo, one]}
YAML
cd "$P" || exit 1
# the pidfile holds "PID START_TIME": the same text is the same process
PIDFILE="$P/.cratis/run/staging/demo/Service-web/pid"
"$CRATIS" apply --auto-approve >"$T/a1.out" 2>&1
expect_rc "first apply" 0 $?
pid1=$(cat "$PIDFILE")
proc1=$(cut -d" " -f1 "$PIDFILE")
check "the Service runs" kill -0 "$proc1"

# 1. an unrelated change: the producer plans no change, so its output is known (recorded)
sed -i 's/apply: \[echo, one\]/apply: [echo, two]/' "$P/core.yaml"
"$CRATIS" plan >"$T/p1.out" 2>&1
expect_in "the changed Task is an update" "Task/other" "$T/p1.out"
expect_in "the producer is unchanged" "$(printf '    %-32s no-op' File/page)" "$T/p1.out"
expect_in "a dependent whose path uses its output is unchanged" "$(printf '    %-32s no-op' File/stamp)" "$T/p1.out"
expect_in "the Service reading its output is unchanged" "$(printf '    %-32s no-op' Service/web)" "$T/p1.out"
expect_not_in "nothing is known only after apply" "known after apply" "$T/p1.out"
"$CRATIS" apply --auto-approve >"$T/a2.out" 2>&1
expect_rc "apply the unrelated change" 0 $?
check "the Service kept its process" test "$(cat "$PIDFILE")" = "$pid1"

# 2. the producer changes (mode) but its content is byte-identical: same sha256 output
sed -i 's/mode: "0644"/mode: "0600"/' "$P/core.yaml"
"$CRATIS" plan >"$T/p2.out" 2>&1
expect_in "the File is updated" "$(printf '%-32s update' File/page)" "$T/p2.out"
# its plugin predicts its outputs (path, sha256) in the plan reply: the same content, the same
# digest, so what reads it plans no change instead of an update "(known after apply)"
expect_in "the Service reading its sha256 plans no change" "$(printf '    %-32s no-op' Service/web)" "$T/p2.out"
expect_in "nor the File named after it" "$(printf '    %-32s no-op' File/stamp)" "$T/p2.out"
expect_not_in "nothing is left unknown" "known after apply" "$T/p2.out"
"$CRATIS" plan --detailed-exitcode -o json >"$T/p2.json" 2>/dev/null
expect_rc "the JSON plan still has a change" 2 $?
check "the JSON plan counts one update" test "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["update"])' <"$T/p2.json")" = 1
"$CRATIS" apply --auto-approve >"$T/a3.out" 2>&1
expect_rc "apply the mode change" 0 $?
expect_in "the File was updated" "File/page: updated" "$T/a3.out"
# planned as no-ops from the predicted digest, found equal again after the File's apply: untouched
expect_not_in "the Service was not restarted" "Service/web: updat" "$T/a3.out"
expect_not_in "nor looked at again in a visible way" "Service/web: " "$T/a3.out"
expect_not_in "nor the File named after the digest" "File/stamp: " "$T/a3.out"
check "its pid is the same" test "$(cat "$PIDFILE")" = "$pid1"
check "and that process still runs" kill -0 "$proc1"
"$CRATIS" plan --detailed-exitcode >"$T/p3.out" 2>&1
expect_rc "afterwards nothing is left to change" 0 $?

# 3. new content: the digest changes, the Service is restarted (the test above can fail)
sed -i 's/content: "hello\\n"/content: "hello again\\n"/' "$P/core.yaml"
old_sha=$(printf 'hello\n' | sha256sum | cut -d' ' -f1)
new_sha=$(printf 'hello again\n' | sha256sum | cut -d' ' -f1)
"$CRATIS" plan >"$T/p4.out" 2>&1
expect_in "new content: the Service plans an update" "$(printf '%-32s update' Service/web)" "$T/p4.out"
expect_in "showing the predicted new sha256" "\"$old_sha\" → \"$new_sha\"" "$T/p4.out"
expect_in "the stamp File moves to the new digest's path" "stamp-$new_sha.txt" "$T/p4.out"
expect_not_in "the digest is not left unknown" "known after apply" "$T/p4.out"
"$CRATIS" apply --auto-approve >"$T/a4.out" 2>&1
expect_rc "apply new content" 0 $?
expect_in "the Service is updated" "Service/web: updated" "$T/a4.out"
pid2=$(cat "$PIDFILE")
check "with a new process" test "$pid2" != "$pid1"
check "old stamp file replaced by the new one" test "$(ls "$P/www" | grep -c '^stamp-')" = 1
stop_service

# 4. a wrong prediction: a dependent planned as no-op from a predicted output is resolved again at
# apply and updated when the output came back different (tests/plugins/predict: Guess predicts
# its output v as spec.predict and returns spec.value)
G="$T/g"
mkdir -p "$G"
demo_core "$G/core.yaml"
guess() {
	cat >"$G/g.yaml" <<YAML
apiVersion: guess/v1
kind: Guess
metadata: {name: g, project: demo}
spec: {value: "$1", predict: "$2"}
---
apiVersion: file/v1
kind: File
metadata: {name: out, project: demo}
spec:
  path: out.txt
  content: "\${Guess/g.outputs.v}"
YAML
}
export CRATIS_PLUGIN_PATH="$SRC/tests/plugins/predict"
guess a a
"$CRATIS" apply -f "$G" --auto-approve >"$T/g1.out" 2>&1
expect_rc "apply the guess" 0 $?
check "the File holds the output" test "$(cat "$G/out.txt")" = a
guess b a
"$CRATIS" plan -f "$G" >"$T/g2.out" 2>&1
expect_in "planned from the (wrong) prediction: the File is a no-op" "$(printf '%-32s no-op' File/out)" "$T/g2.out"
"$CRATIS" apply -f "$G" --auto-approve >"$T/g3.out" 2>&1
expect_rc "apply with the wrong prediction" 0 $?
expect_in "the apply says the prediction was wrong" "File/out: planned as no-op from outputs predicted at plan time, which came back different: updating" "$T/g3.out"
check "the File was updated with the real output" test "$(cat "$G/out.txt")" = b
# the same from a saved plan: the prediction is kept in it, and checked at apply as well
guess c b
"$CRATIS" plan -f "$G" -out "$T/g4.plan" >"$T/g4.out" 2>&1
expect_in "the saved plan has the File as a no-op" "$(printf '%-32s no-op' File/out)" "$T/g4.out"
"$CRATIS" apply -f "$G" "$T/g4.plan" >"$T/g5.out" 2>&1
expect_rc "apply the saved plan" 0 $?
expect_in "the saved plan's dependent is updated too" "File/out: planned as no-op from outputs predicted" "$T/g5.out"
check "with the real output" test "$(cat "$G/out.txt")" = c
guess d d
"$CRATIS" plan -f "$G" >"$T/g6.out" 2>&1
expect_in "a right prediction shows the new value" '"c" → "d"' "$T/g6.out"
"$CRATIS" apply -f "$G" --auto-approve >"$T/g7.out" 2>&1
expect_not_in "and needs no correction" "came back different" "$T/g7.out"
check "the File has it" test "$(cat "$G/out.txt")" = d
"$CRATIS" destroy -f "$G" --auto-approve >/dev/null 2>&1
finish
