#!/bin/sh
# Plugin installation (docs/plugins.md, "Installing plugins"): `cratis plugin install` from an
# HTTP server on loopback (python3 http.server) and from a path; checksum accepted and refused,
# members with '..' or absolute names refused, ABI refusal (a .so built with a wrong ABI major),
# dependency refusal, upgrade by one rename, the lock file, `plugin remove`, --global, and
# Project spec.plugins installed on first use.
. "$(dirname "$0")/lib.sh"
TP=${TEST_PLUGINS:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests/plugins}
export XDG_DATA_HOME="$T/xdg"
unset CRATIS_PLUGIN_PATH
P=$T/project
W=$T/www
mkdir -p "$P" "$W"
demo_core "$P/deploy.yaml"

# exec_plugin DIR NAME VERSION [REQUIRES]: an exec plugin folder serving NAME/v1 Greeting
exec_plugin() {
	mkdir -p "$1"
	cp "$SRC/tests/plugins/exec/ok/plugin.sh" "$1/plugin.sh"
	chmod +x "$1/plugin.sh"
	cat >"$1/plugin.yaml" <<YAML
name: $2
version: $3
abi: 1
executable: plugin.sh
timeoutSeconds: 5
${4:+requires: $4}
handlers:
  - {group: $2, kind: Greeting, versions: [v1]}
YAML
}
# pack NAME DIR...: $W/NAME.tar.gz of the folders (as top directories)
pack() { name=$1; shift; tar -czf "$W/$name.tar.gz" -C "$T/src" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$T/src"
exec_plugin "$T/src/greet" greet 1.0.0
pack greet-1.0.0 greet
rm -rf "$T/src/greet"
exec_plugin "$T/src/greet" greet 1.1.0
pack greet-1.1.0 greet
exec_plugin "$T/src/needy" needy 0.1.0 '{greet: ">=2"}'
pack needy needy
exec_plugin "$T/src/polite" polite 0.1.0 '{greet: "^1.0"}'
pack polite polite
mkdir -p "$T/src/bad"
cp "$TP/badabi/cratis-badabi.so" "$T/src/bad/"
pack badabi bad
# a member escaping with '..', and one with an absolute name
# (python's tarfile: GNU tar strips both when it creates an archive)
member_tar() {
	python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    data = b"x"
    info = tarfile.TarInfo(sys.argv[2])
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
PY
}
member_tar "$W/dotdot.tar.gz" ../victim
member_tar "$W/absolute.tar.gz" /tmp/cratis-absolute-member
ln -s /etc "$T/src/greet/etc"
pack symlink greet
rm "$T/src/greet/etc"

# the HTTP server, on loopback, stopped at exit
PORT=$(free_port)
(cd "$W" && exec python3 -m http.server --bind 127.0.0.1 "$PORT" >"$T/http.log" 2>&1) &
HTTP_PID=$!
stop_http() { kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null; return 0; }
cleanup_hooks="$cleanup_hooks stop_http"
wait_for 10 curl -sf "http://127.0.0.1:$PORT/" || { echo "http.server did not start"; exit 1; }
URL=http://127.0.0.1:$PORT
cd "$P"

# checksum refused: nothing installed
"$CRATIS" plugin install "$URL/greet-1.0.0.tar.gz" --sha256 "$(sha "$W/greet-1.1.0.tar.gz")" >"$T/o1" 2>&1
expect_rc "a wrong checksum is refused" 1 $?
expect_in "it says so" "sha256 mismatch for '$URL/greet-1.0.0.tar.gz': expected $(sha "$W/greet-1.1.0.tar.gz"), got $(sha "$W/greet-1.0.0.tar.gz")" "$T/o1"
check "nothing was installed" test ! -e "$P/.cratis/plugins/greet"
check "no staging left behind" sh -c "! ls -A '$P/.cratis/plugins' 2>/dev/null | grep -q ."

# checksum accepted
"$CRATIS" plugin install "$URL/greet-1.0.0.tar.gz" --sha256 "$(sha "$W/greet-1.0.0.tar.gz")" >"$T/o2" 2>&1
expect_rc "install from http with the right checksum" 0 $?
expect_in "it says what it installed" "Installed plugin greet 1.0.0 into $P/.cratis/plugins/greet" "$T/o2"
"$CRATIS" plugin list -o json >"$T/list1" 2>&1
check "plugin list shows it" python3 -c "
import json,sys
l=[p for p in json.load(open('$T/list1')) if p['name']=='greet']
sys.exit(0 if l and l[0]['version']=='1.0.0' and l[0]['path'].startswith('$P/.cratis/plugins/greet') else 1)"
check "the lock file records it" python3 -c "
import json,sys
e=json.load(open('$P/.cratis/plugins.lock'))['plugins']['greet']
sys.exit(0 if e=={'version':'1.0.0','source':'$URL/greet-1.0.0.tar.gz','sha256':'$(sha "$W/greet-1.0.0.tar.gz")'} else 1)"

# dependency refusal: needy wants greet >=2
"$CRATIS" plugin install "$URL/needy.tar.gz" >"$T/o3" 2>&1
expect_rc "an unmet dependency is refused" 1 $?
expect_in "it names both" "requires plugin 'greet' >=2, found 1.0.0" "$T/o3"
check "needy is not installed" test ! -e "$P/.cratis/plugins/needy"
"$CRATIS" plugin install "$URL/polite.tar.gz" >"$T/o3b" 2>&1
expect_rc "a met dependency installs" 0 $?

# ABI refusal
"$CRATIS" plugin install "$URL/badabi.tar.gz" >"$T/o4" 2>&1
expect_rc "a wrong ABI major is refused" 1 $?
expect_in "it says ABI" "ABI" "$T/o4"
check "badabi is not installed" test ! -e "$P/.cratis/plugins/badabi"

# members refused
"$CRATIS" plugin install "$URL/dotdot.tar.gz" >"$T/o5" 2>&1
expect_rc "a '..' member is refused" 1 $?
expect_in "it names the member" "refused member '../victim': a '..' component" "$T/o5"
"$CRATIS" plugin install "$URL/absolute.tar.gz" >"$T/o6" 2>&1
expect_rc "an absolute member is refused" 1 $?
expect_in "it says absolute" "an absolute name" "$T/o6"
check "nothing written outside" test ! -e /tmp/cratis-absolute-member
check "nothing written above" test ! -e "$P/.cratis/victim"
"$CRATIS" plugin install "$URL/symlink.tar.gz" >"$T/o6b" 2>&1
expect_rc "a link member is refused" 1 $?
expect_in "it says links are refused" "only files and directories are unpacked" "$T/o6b"
"$CRATIS" plugin install "$URL/nosuch.tar.gz" >"$T/o6c" 2>&1
expect_rc "a 404 is an error" 1 $?
expect_in "it says the status" "HTTP status 404" "$T/o6c"

# an upgrade replaces the folder with one rename; a breaking upgrade is refused for its dependant
"$CRATIS" plugin install "$URL/greet-1.1.0.tar.gz" >"$T/o7" 2>&1
expect_rc "upgrade" 0 $?
expect_in "it says what it replaced" "Installed plugin greet 1.1.0 into $P/.cratis/plugins/greet (replaced 1.0.0)" "$T/o7"
expect_in "the new version is in place" "version: 1.1.0" "$P/.cratis/plugins/greet/plugin.yaml"
expect_in "the lock follows" '"version": "1.1.0"' "$P/.cratis/plugins.lock"
rm -rf "$T/src/greet"
exec_plugin "$T/src/greet" greet 2.0.0
pack greet-2.0.0 greet
"$CRATIS" plugin install "$W/greet-2.0.0.tar.gz" >"$T/o8" 2>&1
expect_rc "an upgrade that breaks a dependant is refused" 1 $?
expect_in "it names the dependant" "plugin 'polite'" "$T/o8"
expect_in "the old version stays" "version: 1.1.0" "$P/.cratis/plugins/greet/plugin.yaml"

# remove
"$CRATIS" plugin remove polite >"$T/o9" 2>&1
expect_rc "remove" 0 $?
check "its folder is gone" test ! -e "$P/.cratis/plugins/polite"
expect_not_in "its lock entry is gone" '"polite"' "$P/.cratis/plugins.lock"
"$CRATIS" plugin remove polite >"$T/o10" 2>&1
expect_rc "removing it again is an error" 1 $?
expect_in "it says so" "no plugin 'polite' is installed" "$T/o10"

# --global: into XDG_DATA_HOME, found from any project, not in the project's lock
"$CRATIS" plugin install --global "$W/greet-2.0.0.tar.gz" >"$T/o11" 2>&1
expect_rc "global install from a path" 0 $?
check "it is in the user's directory" test -f "$XDG_DATA_HOME/cratis/plugins/greet/plugin.yaml"
mkdir -p "$T/other" && demo_core "$T/other/deploy.yaml"
(cd "$T/other" && "$CRATIS" plugin list) >"$T/o12" 2>&1
expect_in "another project sees it" "$XDG_DATA_HOME/cratis/plugins/greet" "$T/o12"
"$CRATIS" plugin remove --global greet >/dev/null 2>&1
check "global remove" test ! -e "$XDG_DATA_HOME/cratis/plugins/greet"

# Project spec.plugins: installed on first use, recorded in the lock, checksum checked
Q=$T/q
mkdir -p "$Q"
demo_core "$Q/deploy.yaml"
cat >>"$Q/deploy.yaml" <<YAML
spec:
  environments: [staging]
  plugins:
    - {name: greet, version: "^1.1", source: "$URL/greet-1.1.0.tar.gz", sha256: "$(sha "$W/greet-1.1.0.tar.gz")"}
---
apiVersion: greet/v1
kind: Greeting
metadata: {name: hi, project: demo}
spec: {system: local}
YAML
(cd "$Q" && "$CRATIS" apply --env staging --auto-approve) >"$T/o13" 2>&1
expect_rc "apply installs the plugin it needs" 0 $?
expect_in "and applies its resource" "Greeting/hi" "$T/o13"
check "installed in the project" test -f "$Q/.cratis/plugins/greet/plugin.yaml"
expect_in "locked" "$(sha "$W/greet-1.1.0.tar.gz")" "$Q/.cratis/plugins.lock"
(cd "$Q" && "$CRATIS" plan --env staging) >"$T/o14" 2>&1
expect_rc "the next run uses it without the server's help" 0 $?
# out of range: an error at the entry
sed -i 's/version: "^1.1"/version: "^3"/' "$Q/deploy.yaml"
(cd "$Q" && "$CRATIS" plan --env staging) >"$T/o15" 2>&1
expect_rc "a loaded version outside the range is an error" 1 $?
expect_in "located at the entry" "deploy.yaml:17:" "$T/o15"
expect_in "it names the range" "outside the range '^3'" "$T/o15"
# a wrong checksum in spec.plugins refuses the first-use install
rm -rf "$Q/.cratis/plugins" "$Q/.cratis/plugins.lock"
sed -i "s/version: \"^3\"/version: \"^1\"/; s/sha256: \"[0-9a-f]*\"/sha256: \"$(sha "$W/greet-1.0.0.tar.gz")\"/" "$Q/deploy.yaml"
(cd "$Q" && "$CRATIS" plan --env staging) >"$T/o16" 2>&1
expect_rc "a wrong checksum in spec.plugins is refused" 1 $?
expect_in "it says mismatch at the source" "spec.plugins[0].source: installing plugin 'greet': sha256 mismatch" "$T/o16"
check "nothing installed" test ! -e "$Q/.cratis/plugins/greet"
finish
