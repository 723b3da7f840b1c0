#!/bin/sh
# The built-in plugins open their heavy libraries on first use (docs/architecture.md, "Lazy
# libraries"): every command loads every plugin, yet `get` and a plan of Tasks map neither libcurl
# nor libcrypto; a File's apply or refresh opens libcrypto (the SHA-256 is still right), a
# Service's HTTP health check opens libcurl and a TCP one does not; a missing library fails the
# operation with a message naming it and its Debian package, before anything is changed.
. "$(dirname "$0")/lib.sh"
B=${CRATIS_BUILD_DIR:-$(dirname "$CRATIS")}

# traced NAME COMMAND...: run the command with the loader's trace of that process (not of the
# processes it starts) in $T/NAME.ld, its output in $T/NAME.out and $T/NAME.err
traced() {
	name=$1; shift
	LD_DEBUG=files LD_DEBUG_OUTPUT="$T/$name.ld" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	wait "$pid"
	rc=$?
	cat "$T/$name.ld.$pid" >"$T/$name.ld" 2>/dev/null || : >"$T/$name.ld"
	return $rc
}

P="$T/tasks"
mkdir -p "$P"
cat >"$P/deploy.yaml" <<'YAML'
apiVersion: exec/v1
kind: Task
metadata: {name: noop}
spec:
  apply: ["true"]
YAML
"$CRATIS" apply -f "$P" --auto-approve >"$T/a0.out" 2>&1
expect_rc "apply of a one-task project" 0 $?
traced get "$CRATIS" get -f "$P"
expect_rc "cratis get" 0 $?
expect_in "the loader trace is recorded" "file=libjansson" "$T/get.ld"
expect_in "every built-in plugin is loaded" "cratis-service.so" "$T/get.ld"
expect_in "the File plugin is loaded" "cratis-file.so" "$T/get.ld"
expect_not_in "cratis get does not load libcurl" "file=libcurl" "$T/get.ld"
expect_not_in "cratis get does not load libcrypto" "file=libcrypto" "$T/get.ld"
traced plan "$CRATIS" plan -f "$P"
expect_rc "a plan of Tasks" 0 $?
expect_not_in "a plan of Tasks does not load libcurl" "file=libcurl" "$T/plan.ld"
expect_not_in "a plan of Tasks does not load libcrypto" "file=libcrypto" "$T/plan.ld"

# a File: its apply and its refresh hash the content with libcrypto
F="$T/file"
mkdir -p "$F"
cat >"$F/deploy.yaml" <<'YAML'
apiVersion: file/v1
kind: File
metadata: {name: greeting}
spec:
  path: greeting.txt
  content: "hello, lazy\n"
YAML
traced fapply "$CRATIS" apply -f "$F" --auto-approve
expect_rc "apply of a File" 0 $?
expect_in "the File's apply loads libcrypto" "file=libcrypto" "$T/fapply.ld"
expect_not_in "the File's apply does not load libcurl" "file=libcurl" "$T/fapply.ld"
"$CRATIS" get -f "$F" -o json >"$T/fget.json" 2>&1
want=$(printf 'hello, lazy\n' | sha256sum | cut -d' ' -f1)
expect_in "the recorded sha256 is the content's" "\"sha256\": \"$want\"" "$T/fget.json"
traced fplan "$CRATIS" plan -f "$F"
expect_rc "the File is unchanged" 0 $?
expect_in "its refresh loads libcrypto" "file=libcrypto" "$T/fplan.ld"
expect_in "and finds nothing to do" "0 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged" "$T/fplan.out"
echo "edited" >"$F/greeting.txt"
"$CRATIS" plan -f "$F" >"$T/fplan2.out" 2>&1
expect_in "an edited file is drift found by its sha256" "content of '$F/greeting.txt' changed (sha256" "$T/fplan2.out"

# a Service: a TCP health check needs no libcurl, an HTTP one opens it
S="$T/svc"
mkdir -p "$S"
PORT=$(free_port)
service() { # HEALTH
	cat >"$S/deploy.yaml" <<YAML
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [python3, -m, http.server, "$PORT", --bind, 127.0.0.1]
  health: $1
YAML
}
stop_service() { "$CRATIS" destroy -f "$S" --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_service"
service "{tcp: \"127.0.0.1:$PORT\", timeoutSeconds: 15}"
traced stcp "$CRATIS" apply -f "$S" --auto-approve
expect_rc "a Service with a TCP health check" 0 $?
expect_not_in "a TCP health check does not load libcurl" "file=libcurl" "$T/stcp.ld"
service "{http: \"http://127.0.0.1:$PORT/\", timeoutSeconds: 15}"
traced shttp "$CRATIS" apply -f "$S" --auto-approve
expect_rc "the Service restarted with an HTTP health check" 0 $?
expect_in "an HTTP health check loads libcurl" "file=libcurl" "$T/shttp.ld"
"$CRATIS" destroy -f "$S" --auto-approve >"$T/sdestroy.out" 2>&1
expect_rc "destroy of the Service" 0 $?

# missing libraries: copies of the plugins whose recorded SONAMEs name versions that do not exist
# (same length, so the objects are otherwise unchanged) shadow the built-in ones
mkdir -p "$T/missing"
python3 - "$B/plugins" "$T/missing" <<'PY'
import re, sys
for plugin, lib in (("cratis-service.so", rb"libcurl\.so\.[0-9.]+\0"), ("cratis-file.so", rb"libcrypto\.so\.[0-9.]+\0")):
    b = open(f"{sys.argv[1]}/{plugin}", "rb").read()
    names = set(re.findall(lib, b))
    assert len(names) == 1, (plugin, names)
    name = names.pop()
    cut = name.index(b".so.") + 4
    b = b.replace(name, name[:cut] + b"9" * (len(name) - cut - 1) + b"\0")
    open(f"{sys.argv[2]}/{plugin}", "wb").write(b)
PY
M="$T/mfile"
mkdir -p "$M"
cp "$F/deploy.yaml" "$M/"
CRATIS_PLUGIN_PATH="$T/missing" "$CRATIS" get -f "$M" >"$T/m0.out" 2>&1
expect_rc "get runs without libcrypto" 0 $?
CRATIS_PLUGIN_PATH="$T/missing" "$CRATIS" apply -f "$M" --auto-approve >"$T/m1.out" 2>&1
expect_rc "a File's apply without libcrypto fails" 1 $?
expect_in "the message names libcrypto" "cannot load libcrypto (libcrypto.so.9" "$T/m1.out"
expect_in "and says what to install" "install the Debian package libssl" "$T/m1.out"
check "nothing was written" test ! -e "$M/greeting.txt"

MS="$T/msvc"
mkdir -p "$MS"
cat >"$MS/deploy.yaml" <<YAML
apiVersion: service/v1
kind: Service
metadata: {name: web}
spec:
  command: [sh, -c, "touch started; exec sleep 30"]
  health: {http: "http://127.0.0.1:$PORT/", timeoutSeconds: 1}
YAML
CRATIS_PLUGIN_PATH="$T/missing" "$CRATIS" apply -f "$MS" --auto-approve >"$T/m2.out" 2>&1
expect_rc "a Service with an HTTP health check fails without libcurl" 1 $?
expect_in "the message names libcurl" "create failed: plugin 'service': cannot load libcurl (libcurl.so.9" "$T/m2.out"
expect_in "and says what to install" "install the Debian package libcurl" "$T/m2.out"
check "the process was not started" test ! -e "$MS/started"
finish
