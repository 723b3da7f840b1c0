#!/bin/sh
# A Service process that no pidfile names (cratis killed between starting it and writing its
# pidfile; simulated by removing the pidfile) is still found, by the marker variable every
# process of the resource carries, and stopped by the next apply and by destroy: never a second
# server beside it, never one left running. A pidfile without a start time names no process. A
# port held by another program fails the apply naming that program (issue 9, item 13), even
# though something answers the health check.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
PORT=$(free_port)
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  system: local
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1]
  env: {ROUND: "1"}
  health: {tcp: "127.0.0.1:$PORT", timeoutSeconds: 20}
YAML
C() { "$CRATIS" "$@" -f "$P"; }
servers() { pgrep -f "http.server $PORT" | wc -l; }
stop_servers() { pkill -f "http.server $PORT" 2>/dev/null; return 0; }
cleanup_hooks="stop_servers"
C apply --auto-approve >/dev/null 2>"$T/a1"
expect_rc "the service starts" 0 $?
PIDFILE=$(find "$P/.cratis/run" -name pid)
check "its pidfile is written" test -s "$PIDFILE"
first=$(pgrep -f "http.server $PORT")

# the pidfile is lost, as when cratis dies between the spawn and the write
rm -f "$PIDFILE"
sed -i 's/ROUND: "1"/ROUND: "2"/' "$P/m.yaml"
C apply --auto-approve >/dev/null 2>"$T/a2"
expect_rc "the restart succeeds" 0 $?
expect_rc "exactly one server: the unrecorded one was stopped" 1 "$(servers)"
# (a stopped detached process may stay a zombie until this machine's init reaps it)
running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
if running "$first"; then fail "the first process was stopped"; else ok "the first process was stopped"; fi
C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "converged" 0 $?

# destroy finds it too
PIDFILE=$(find "$P/.cratis/run" -name pid)
rm -f "$PIDFILE"
C destroy --auto-approve >/dev/null 2>"$T/d"
expect_rc "destroy" 0 $?
expect_rc "no server left after destroy" 0 "$(servers)"

# a pidfile whose start time is 0 names no process (pid 0 == start time 0 was taken as running)
C apply --auto-approve >/dev/null 2>"$T/a3"
PIDFILE=$(find "$P/.cratis/run" -name pid)
pkill -f "http.server $PORT"
wait_for 10 sh -c "[ \$(pgrep -f 'http[.]server $PORT' | wc -l) -eq 0 ]"
echo "$(cut -d' ' -f1 "$PIDFILE") 0" >"$PIDFILE"
C plan >"$T/p4" 2>&1
expect_in "a dead process with no start time is drift" "drift: process is not running" "$T/p4"
C destroy --auto-approve >/dev/null 2>&1

# destroy after a first apply killed mid-way (the row pending, nothing recorded as applied): the
# plugin's destroy runs with the spec that was being applied, so the started process goes too
# (issue 9, item 15)
NEVER=$(free_port)
sed -i "s/ROUND: \"[0-9a-z]*\"/ROUND: \"first\"/; s|health: .*|health: {tcp: \"127.0.0.1:$NEVER\", timeoutSeconds: 120}|" "$P/m.yaml"
rm -rf "$P/.cratis"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1 &
apid=$!
started() { [ "$(servers)" -ge 1 ] && "$CRATIS" state list -f "$P" 2>/dev/null | grep -q "Service/web	pending"; }
wait_for 30 started
kill -9 "$apid"
wait "$apid" 2>/dev/null
expect_rc "the killed first apply left its server running" 1 "$(servers)"
C destroy --auto-approve >/dev/null 2>"$T/d2"
expect_rc "destroy after an interrupted first apply" 0 $?
wait_for 10 sh -c "[ \$(pgrep -f 'http[.]server $PORT' | wc -l) -eq 0 ]"
expect_rc "the server it started is stopped" 0 "$(servers)"
C state list >"$T/s2" 2>&1
expect_not_in "nothing is recorded" "Service/web" "$T/s2"

# a port already held by another program: the health check is answered, but not by this Service
OTHER=$(free_port)
python3 -m http.server "$OTHER" --bind 127.0.0.1 >/dev/null 2>&1 &
other=$!
stop_other() { kill "$other" 2>/dev/null; stop_servers; }
cleanup_hooks="stop_other"
wait_for 20 sh -c "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $OTHER), 1)'"
for field in tcp http; do
	target="127.0.0.1:$OTHER"
	[ "$field" = http ] && target="http://127.0.0.1:$OTHER/"
	sed -i "s/ROUND: \"[0-9a-z]*\"/ROUND: \"$field\"/; s|http.server, \"[0-9]*\"|http.server, \"$OTHER\"|; s|health: .*|health: {$field: \"$target\", timeoutSeconds: 20}|" "$P/m.yaml"
	C apply --auto-approve >/dev/null 2>"$T/held-$field"
	expect_rc "$field: a port held by another program fails the apply" 1 $?
	expect_in "$field: the holder is named" "port $OTHER is held by process $other (" "$T/held-$field"
	expect_in "$field: with its command line" "http.server $OTHER" "$T/held-$field"
	C get >"$T/get-$field" 2>&1
	expect_in "$field: get does not say ready" "failed" "$T/get-$field"
	check "$field: the other program still runs" kill -0 "$other"
	ours=$(pgrep -f "http.server $OTHER" | grep -v "^$other\$" | wc -l)
	expect_rc "$field: no process of the Service is left" 0 "$ours"
done
finish
