#!/bin/sh
# Pull agents (issue 14, docs/agents.md): a server on a free loopback port and two agents for two
# pull-mode Systems, each with its own directory standing for its host (File and Task resources
# write there). A deployment through the API converges on both and finishes when both reported;
# the server's own System is applied by the server alone; after a server restart another change
# converges again; drift (a deleted file) is repaired by the timer; an agent's token cannot read
# or report another System's work (403); SIGTERM stops an agent cleanly and it keeps its
# generation; a dependency across a pull-mode System is refused.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
S="$T/srv"
P="$T/proj"
A="$T/host-a"
B="$T/host-b"
mkdir -p "$P" "$A" "$B" "$T/cross"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: host-a}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: System
metadata: {name: host-b}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [host-a, host-b, local]
  variables: {version: "1"}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: demo}
---
apiVersion: file/v1
kind: File
metadata: {name: page-a}
spec:
  system: host-a
  path: $A/page.html
  content: "version \${version}\n"
---
apiVersion: exec/v1
kind: Task
metadata: {name: stamp-a}
spec:
  system: host-a
  apply: [sh, -c, 'echo "stamp \${version}" >$A/stamp.txt']
  dependsOn: [File/page-a]
---
apiVersion: file/v1
kind: File
metadata: {name: page-b}
spec:
  system: host-b
  path: $B/page.html
  content: "version \${version}\n"
---
apiVersion: exec/v1
kind: Task
metadata: {name: stamp-b}
spec:
  system: host-b
  apply: [sh, -c, 'echo "stamp \${version}" >$B/stamp.txt']
  dependsOn: [File/page-b]
---
apiVersion: file/v1
kind: File
metadata: {name: page-server}
spec:
  system: local
  path: $T/server.html
  content: "version \${version}\n"
YAML

ADMIN=$("$CRATIS" token create --state-dir "$S" ${AGENTS_STATE:+--state "$AGENTS_STATE"} --subject root --role admin 2>/dev/null)
"$CRATIS" token create --state-dir "$S" ${AGENTS_STATE:+--state "$AGENTS_STATE"} --subject agent-a --role agent-a >"$T/token-a" 2>/dev/null
"$CRATIS" token create --state-dir "$S" ${AGENTS_STATE:+--state "$AGENTS_STATE"} --subject agent-b --role agent-b >"$T/token-b" 2>/dev/null
"$CRATIS" token create --state-dir "$S" ${AGENTS_STATE:+--state "$AGENTS_STATE"} --subject agent-c --role agent-c >"$T/token-c" 2>/dev/null
TOKA=$(cat "$T/token-a")
cat >"$T/policy.csv" <<'CSV'
# each agent reads and reports its own System's work, nothing else
p, role:agent-a, agents, get, host-a, allow
p, role:agent-a, agents, report, host-a, allow
p, role:agent-b, agents, get, host-b, allow
p, role:agent-b, agents, report, host-b, allow
p, role:agent-c, agents, *, host-c, allow
CSV
# AGENTS_STATE (agents_pg.sh): the server's store URL instead of its SQLite default
set --
[ -z "${AGENTS_STATE:-}" ] || set -- --state "$AGENTS_STATE"
PORT=$(free_port)
LOG="$T/serve.log"
check "serve starts on a free loopback port" start_server "$S" "$LOG" --listen "127.0.0.1:$PORT" --policy "$T/policy.csv" "$@"
AGENT_A= AGENT_B= AGENT_C=
agents_cleanup() {
	for p in $AGENT_A $AGENT_B $AGENT_C; do kill -KILL "$p" 2>/dev/null; done
	stop_server KILL
}
cleanup_hooks="agents_cleanup $cleanup_hooks"

check "the project is registered" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"demo\",\"path\":\"$P\"}")" = 201

start_agent() { # NAME DIR TOKENFILE LOG: sets AGENT_PID
	"$CRATIS" agent --server "$URL" --system "$1" --dir "$2/agent" --token-file "$3" --interval 2 2>>"$4" &
	AGENT_PID=$!
}
start_agent host-a "$A" "$T/token-a" "$T/agent-a.log"; AGENT_A=$AGENT_PID
start_agent host-b "$B" "$T/token-b" "$T/agent-b.log"; AGENT_B=$AGENT_PID

# a deployment through the API: 202, the work goes to both agents, the server applies its own
code=$(req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}')
expect_rc "the deployment is accepted" 202 "$code"
DEP=$(jq_py 'd["id"]' <"$T/resp")
has() { [ -f "$1" ] && grep -qxF "$2" "$1"; }
converged() { has "$A/page.html" "version $1" && has "$B/page.html" "version $1" && has "$A/stamp.txt" "stamp $1" && has "$B/stamp.txt" "stamp $1"; }
# the rest builds on a first convergence: without one, stop here (the waits below would add up)
if wait_for 60 converged 1; then ok "both hosts converge to version 1"; else
	fail "both hosts converge to version 1"
	tail -n 20 "$T"/agent-*.log
	finish
	exit 1
fi
check "the server applies its own System's File" has "$T/server.html" "version 1"
dep_result() { req GET "/v1/deployments/$1" "$ADMIN" >/dev/null && test "$(jq_py 'd["result"]' <"$T/resp")" = "$2"; }
check "the server deployment succeeds once both agents reported" wait_for 60 dep_result "$DEP" succeeded
expect_in "its summary names both agents" "agent host-a: succeeded; agent host-b: succeeded" "$T/resp"
req GET /v1/projects/demo/environments/staging/resources "$ADMIN" >/dev/null
check "the server records only its own resource" test "$(jq_py 'sorted(r["id"] for r in d if r["status"]=="ready")' <"$T/resp")" = '["File/page-server"]'
agent_state() { # DIR: the ids an agent's own state records in staging
	"$CRATIS" state list --state "sqlite:$1/agent/state.db" --state-dir "$1/agent" --env staging -o json | jq_py 'sorted(r["id"] for r in d)'
}
check "agent a records its System's two resources, and only those" test "$(agent_state "$A")" = '["File/page-a", "Task/stamp-a"]'
check "agent b likewise" test "$(agent_state "$B")" = '["File/page-b", "Task/stamp-b"]'
req GET /v1/agents "$ADMIN" >/dev/null
cp "$T/resp" "$T/agents1.json"
check "GET /v1/agents lists both agents" test "$(jq_py '[a["system"] for a in d]' <"$T/agents1.json")" = '["host-a", "host-b"]'
check "each at generation 1 with no lag" test "$(jq_py '[(a["generation"], a["lag"], a["result"]) for a in d]' <"$T/agents1.json")" = '[[1, 0, "succeeded"], [1, 0, "succeeded"]]'
check "each was seen" test "$(jq_py 'all(a["lastSeen"] for a in d)' <"$T/agents1.json")" = true
req GET /v1/agents/host-a "$ADMIN" >/dev/null
check "GET /v1/agents/host-a has its steps" test "$(jq_py 'sorted(s["resource"] for s in d["items"][0]["steps"])' <"$T/resp")" = '["File/page-a", "Task/stamp-a"]'
req GET "/v1/events?type=dev.cratis.agent.reported" "$ADMIN" >/dev/null
check "each report is an event" test "$(jq_py 'sorted(set(e["subject"] for e in d))' <"$T/resp")" = '["System/host-a", "System/host-b"]'

# access: each agent's token reads and reports only its own System
expect_rc "no token: 401" 401 "$(req GET "/v1/agents/host-a/work?wait=0" -)"
expect_rc "agent a reads its own work" 200 "$(req GET "/v1/agents/host-a/work?after=0&wait=0" "$TOKA")"
expect_rc "agent a cannot read host-b's work" 403 "$(req GET "/v1/agents/host-b/work?after=0&wait=0" "$TOKA")"
expect_rc "agent a cannot report for host-b" 403 "$(req POST /v1/agents/host-b/reports "$TOKA" '{"generation":1}')"
expect_rc "agent a cannot list every agent" 403 "$(req GET /v1/agents "$TOKA")"
expect_rc "nothing newer: 204 after the wait" 204 "$(req GET "/v1/agents/host-a/work?after=1&wait=1" "$TOKA")"
expect_rc "a bad wait is a 400" 400 "$(req GET "/v1/agents/host-a/work?wait=99" "$TOKA")"
code=$(req POST /v1/agents/host-a/reports "$TOKA" '{"generation":1,"project":"demo","environment":"staging","deployment":1,"result":"maybe"}')
expect_rc "a malformed report is refused" 422 "$code"
expect_in "naming the field" '"field":"result"' "$T/resp"
code=$(req POST /v1/agents/host-a/reports "$TOKA" '{"generation":1,"project":"other","environment":"staging","deployment":1,"result":"succeeded"}')
expect_rc "a report on work the System was never given is refused" 422 "$code"
expect_in "naming the project" "System 'host-a' was given no work of project 'other'" "$T/resp"

# drift: a deleted file is put back by the timer, without new work
rm -f "$A/page.html"
check "the timer repairs the deleted file" wait_for 60 has "$A/page.html" "version 1"
check "agent a says it repaired drift" wait_for 10 grep -q "drift repaired" "$T/agent-a.log"

# the server restarts (same port); another change converges again
stop_server TERM
expect_rc "the server stops cleanly" 0 "$SERVER_RC"
sed -i 's/version: "1"/version: "2"/' "$P/m.yaml"
check "the server starts again on the same port" start_server "$S" "$LOG.2" --listen "127.0.0.1:$PORT" --policy "$T/policy.csv" "$@"
code=$(req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}')
expect_rc "the second deployment is accepted" 202 "$code"
DEP2=$(jq_py 'd["id"]' <"$T/resp")
check "both hosts converge to version 2" wait_for 90 converged 2
check "the second deployment succeeds" wait_for 60 dep_result "$DEP2" succeeded
expect_in "agent a saw the server go away" "server unreachable" "$T/agent-a.log"
req GET /v1/agents "$ADMIN" >/dev/null
check "both agents at generation 2" test "$(jq_py '[a["generation"] for a in d]' <"$T/resp")" = '[2, 2]'

# SIGTERM: the agent stops cleanly (exit 0) and keeps its generation
kill -TERM "$AGENT_A"
wait "$AGENT_A"
expect_rc "agent a stops on SIGTERM" 0 $?
AGENT_A=
expect_in "saying where it stopped" "stopped at generation 2" "$T/agent-a.log"
start_agent host-a "$A" "$T/token-a" "$T/agent-a2.log"; AGENT_A=$AGENT_PID
check "restarted, it starts from generation 2" wait_for 20 grep -q "(generation 2," "$T/agent-a2.log"
check "another System's directory is refused" sh -c "'$CRATIS' agent --server '$URL' --system host-b --dir '$A/agent' --token-file '$T/token-b' 2>'$T/wrongdir.err'; test \$? = 1"
expect_in "naming the System the directory belongs to" "of the agent of System 'host-a'" "$T/wrongdir.err"
"$CRATIS" agent --server "$URL" --system host-b --dir "$T/ag-x" --token-file "$T/token-a" 2>"$T/wrongtok.err"
expect_rc "a token for another System stops the agent" 1 $?
expect_in "naming the refusal" "403" "$T/wrongtok.err"
"$CRATIS" agent --system host-a 2>/dev/null
expect_rc "--server is required" 64 $?

# a resource on a pull-mode System cannot depend on another System's
cat >"$T/cross/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: edge}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [edge, local]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: cross}
---
apiVersion: exec/v1
kind: Task
metadata: {name: base}
spec: {system: local, apply: ["true"]}
---
apiVersion: exec/v1
kind: Task
metadata: {name: top}
spec:
  system: edge
  apply: ["true"]
  dependsOn: [Task/base]
YAML
req POST /v1/projects "$ADMIN" "{\"name\":\"cross\",\"path\":\"$T/cross\"}" >/dev/null
expect_rc "a cross-System dependency is refused" 422 "$(req POST /v1/projects/cross/deployments "$ADMIN" '{}')"
expect_in "located at the dependent's dependsOn" '"field":"spec.dependsOn"' "$T/resp"

# a deployment that an agent never took is superseded by the next one: it stops waiting for it
kill -TERM "$AGENT_B"
wait "$AGENT_B"
AGENT_B=
sed -i 's/version: "2"/version: "3"/' "$P/m.yaml"
req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}' >/dev/null
DEP3=$(jq_py 'd["id"]' <"$T/resp")
check "agent a applies version 3 while b is down" wait_for 60 has "$A/page.html" "version 3"
sed -i 's/version: "3"/version: "4"/' "$P/m.yaml"
req POST /v1/projects/demo/deployments "$ADMIN" '{"env":"staging"}' >/dev/null
DEP4=$(jq_py 'd["id"]' <"$T/resp")
check "the superseded deployment finishes failed" wait_for 30 dep_result "$DEP3" failed
expect_in "naming the System it no longer waits for" "agent host-b: superseded" "$T/resp"
start_agent host-b "$B" "$T/token-b" "$T/agent-b2.log"; AGENT_B=$AGENT_PID
check "agent b, back, converges to the latest work" wait_for 60 converged 4
check "the latest deployment succeeds" wait_for 60 dep_result "$DEP4" succeeded

# SIGTERM during an apply interrupts it as Ctrl-C does; the agent started again finishes the work
C="$T/host-c"
mkdir -p "$C" "$T/slow"
cat >"$T/slow/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: host-c}
spec: {agent: true}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec: {systems: [host-c]}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: slow}
---
apiVersion: exec/v1
kind: Task
metadata: {name: wait}
spec:
  apply: [sh, -c, 'touch $C/started; sleep 4; touch $C/done']
YAML
req POST /v1/projects "$ADMIN" "{\"name\":\"slow\",\"path\":\"$T/slow\"}" >/dev/null
start_agent host-c "$C" "$T/token-c" "$T/agent-c.log"; AGENT_C=$AGENT_PID
req POST /v1/projects/slow/deployments "$ADMIN" '{}' >/dev/null
DEPC=$(jq_py 'd["id"]' <"$T/resp")
check "agent c starts the slow Task" wait_for 60 test -f "$C/started"
kill -TERM "$AGENT_C"
wait "$AGENT_C"
expect_rc "agent c stops on SIGTERM during the apply" 0 $?
check "the Task was interrupted" test ! -f "$C/done"
expect_in "agent c says the apply was interrupted" "generation 1: interrupted" "$T/agent-c.log"
check "the server deployment still waits for host-c" dep_result "$DEPC" running
start_agent host-c "$C" "$T/token-c" "$T/agent-c2.log"; AGENT_C=$AGENT_PID
check "agent c, started again, finishes the Task" wait_for 60 test -f "$C/done"
check "and the deployment succeeds" wait_for 60 dep_result "$DEPC" succeeded
kill -TERM "$AGENT_C"
wait "$AGENT_C"

# spec.agent is a boolean
cat >"$T/badagent.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: a}
spec: {agent: "yes"}
YAML
"$CRATIS" validate -f "$T/badagent.yaml" >"$T/badagent.out" 2>&1
expect_rc "spec.agent must be a boolean" 1 $?
expect_in "located" "badagent.yaml:4:16: spec.agent: expected true or false, got a string" "$T/badagent.out"

kill -TERM "$AGENT_A" "$AGENT_B"
wait "$AGENT_A" "$AGENT_B" 2>/dev/null
AGENT_A= AGENT_B=
stop_server TERM
expect_rc "the server stops cleanly at the end" 0 "$SERVER_RC"
finish
