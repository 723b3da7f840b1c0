#!/bin/sh
# cratis logs (issue 10, Logs): a Service's output (--tail, --since), followed with -f until
# Ctrl-C (exit 130) or until the Service is destroyed; a Rollout's current and preview releases;
# an unknown address is an error with "did you mean"; the log is rotated at a start when large.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
export LOGS_ACTIVE_PORT=$(free_port) LOGS_PREVIEW_PORT=$(free_port) LOGS_RELEASE=v1
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [sh, -c, 'i=0; while :; do i=$((i+1)); echo "line $i"; if [ -e next ]; then echo picked-up-line; rm -f next; fi; sleep 0.1; done']
---
apiVersion: cratis/v1
kind: Rollout
metadata: {name: shop}
spec:
  strategy: blueGreen
  activePort: ${env:LOGS_ACTIVE_PORT}
  previewPort: ${env:LOGS_PREVIEW_PORT}
  autoPromotion: false
  template:
    command: [sh, -c, 'echo "release $0 listening"; exec python3 -m http.server "$PORT" --bind 127.0.0.1', "${env:LOGS_RELEASE}"]
    health: {path: /, timeoutSeconds: 15}
YAML
C() { "$CRATIS" "$@" -f "$P" --env staging; }
L() { (cd "$P" && exec "$CRATIS" logs "$@"); } # the project from the current directory
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"

C apply --auto-approve >"$T/a1.out" 2>"$T/a1.err"
expect_rc "apply" 0 $?
sed 's/^/    /' "$T/a1.err" | grep -i error
wait_for 10 sh -c "grep -q 'line 5' '$P/.cratis/run/staging/demo/Service-web/log'"

L Service/web >"$T/all" 2>"$T/all.err"
expect_rc "logs Service/web" 0 $?
expect_in "the service's output" "line 1" "$T/all"
check "nothing on stderr" test ! -s "$T/all.err"

L Service/web --tail 2 >"$T/tail" 2>&1
expect_rc "--tail 2" 0 $?
expect_rc "--tail 2 prints two lines" 2 "$(wc -l <"$T/tail")"
check "--tail 2 prints the last ones" sh -c "! grep -qx 'line 1' '$T/tail'"
L Service/web --tail 0 >"$T/tail0" 2>&1
check "--tail 0 prints nothing" test ! -s "$T/tail0"

L Service/web --since 1h >"$T/since" 2>&1
expect_in "--since 1h: written within the hour" "line 1" "$T/since"
L Service/web --since 1x >"$T/since.bad" 2>&1
expect_rc "--since with a bad duration is a usage error" 64 $?

# -f: a new line is picked up, Ctrl-C stops it with 130
(cd "$P" && exec "$CRATIS" logs Service/web -f --tail 0) >"$T/follow" 2>"$T/follow.err" &
fpid=$!
sleep 0.5
touch "$P/next"
if wait_for 10 grep -q picked-up-line "$T/follow"; then ok "-f picks up a new line"; else fail "-f picks up a new line"; fi
kill -INT "$fpid"
wait "$fpid"
expect_rc "-f stopped by SIGINT" 130 $?

# unknown addresses
L Service/wbe >"$T/typo.out" 2>"$T/typo.err"
expect_rc "an unknown address" 1 $?
expect_in "says so" "no Service/wbe is recorded in environment 'staging'" "$T/typo.err"
expect_in "with a did-you-mean" "did you mean 'Service/web'?" "$T/typo.err"
L Task/web >"$T/kind.out" 2>"$T/kind.err"
expect_rc "not a Service or Rollout" 1 $?
expect_in "says what it needs" "is not the address of a Service or a Rollout" "$T/kind.err"
L >/dev/null 2>&1
expect_rc "no address is a usage error" 64 $?

# a Rollout: its first release waits in preview (autoPromotion: false), then is promoted
L Rollout/shop >"$T/r0" 2>"$T/r0.err"
expect_rc "no current release yet" 1 $?
expect_in "says there is none" "rollout 'shop' has no current release" "$T/r0.err"
L Rollout/shop --release preview >"$T/r1" 2>"$T/r1.err"
expect_rc "logs Rollout/shop --release preview" 0 $?
expect_in "the preview release's output" "release v1 listening" "$T/r1"
C rollout promote shop >/dev/null 2>"$T/promote.err"
expect_rc "promote v1" 0 $?
L Rollout/shop >"$T/r1b" 2>&1
expect_in "the current release's output" "release v1 listening" "$T/r1b"
L Rollout/shop --release nope >/dev/null 2>"$T/rbad.err"
expect_rc "a bad --release" 1 $?
expect_in "names the choices" "--release: expected 'current' or 'preview'" "$T/rbad.err"
LOGS_RELEASE=v2 C apply --auto-approve >/dev/null 2>"$T/a2.err"
expect_rc "v2 to preview" 0 $?
L Rollout/shop --release preview >"$T/r2" 2>&1
expect_in "the new preview release's output" "release v2 listening" "$T/r2"
L Rollout/shop --release current >"$T/r3" 2>&1
expect_in "current is still v1" "release v1 listening" "$T/r3"
expect_not_in "and only v1" "release v2" "$T/r3"

# -f stops by itself when the Service is destroyed
(cd "$P" && exec "$CRATIS" logs Service/web --follow --tail 0) >"$T/follow2" 2>"$T/follow2.err" &
fpid=$!
sleep 0.5
C destroy --auto-approve >/dev/null 2>&1
i=0
while kill -0 "$fpid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$fpid" 2>/dev/null; then fail "-f stops when the service is destroyed"; kill -INT "$fpid"; else ok "-f stops when the service is destroyed"; fi
wait "$fpid"
expect_rc "and exits 0" 0 $?
expect_in "saying why" "Service/web: destroyed; no longer following" "$T/follow2.err"

# rotation: a log over 10 MiB moves to log.1 at the next start
LOG="$P/.cratis/run/staging/demo/Service-web/log"
truncate -s 11M "$LOG"
C apply --auto-approve >/dev/null 2>&1
check "a large log is rotated at start" test -e "$P/.cratis/run/staging/demo/Service-web/log.1"
check "the new log is small" test "$(wc -c <"$LOG")" -lt 1000000
finish
