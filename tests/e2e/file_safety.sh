#!/bin/sh
# File writes never follow what someone planted (issue 9, item 12): a fresh temporary file with a
# random name beside the target, renamed over it; a target that is a symbolic link is refused
# unless followSymlinks: true (then the file it points to is written and the link stays).
. "$(dirname "$0")/lib.sh"
P="$T/p"
D="$T/shared"
mkdir -p "$P" "$D"
chmod 1777 "$D" # a directory other users can write, like /tmp
echo "precious" >"$T/victim"
manifest() { # FOLLOW
	cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: file/v1
kind: File
metadata: {name: conf}
spec:
  system: local
  path: $D/app.conf
  content: "written by cratis\n"
  mode: "0640"
$1
YAML
}
C() { "$CRATIS" "$@" -f "$P"; }

# 1. the old fixed temporary name, planted as a link to another file, is not followed
ln -s "$T/victim" "$D/app.conf.cratis-tmp"
manifest ""
C apply --auto-approve >/dev/null 2>"$T/a1"
expect_rc "apply with a planted temporary link" 0 $?
expect_in "the target is written" "written by cratis" "$D/app.conf"
expect_in "the planted link's target is untouched" "precious" "$T/victim"
check "the target is a regular file" test -f "$D/app.conf" -a ! -L "$D/app.conf"
expect_rc "its mode" 640 "$(stat -c %a "$D/app.conf")"
left=$(find "$D" -name '.app.conf.cratis-*' | wc -l)
expect_rc "no temporary file left" 0 "$left"

# 2. the target itself replaced by a link: refused, naming followSymlinks
rm -f "$D/app.conf"
ln -s "$T/victim" "$D/app.conf"
sed -i 's/written by cratis/second version/' "$P/m.yaml"
C apply --auto-approve >/dev/null 2>"$T/a2"
expect_rc "a target that is a link is refused" 1 $?
expect_in "the refusal names the link and the way out" "is a symbolic link: refusing to write through it (set followSymlinks: true" "$T/a2"
expect_in "the link's target is untouched" "precious" "$T/victim"

# 3. followSymlinks: true writes the file it points to, and the link stays
manifest "  followSymlinks: true"
C apply --auto-approve >/dev/null 2>"$T/a3"
expect_rc "followSymlinks: true" 0 $?
expect_in "the linked file is written" "written by cratis" "$T/victim"
check "the link stays a link" test -L "$D/app.conf"

# 4. followSymlinks must be a boolean
manifest "  followSymlinks: yes please"
C plan >/dev/null 2>"$T/p4"
expect_rc "followSymlinks: not a boolean" 1 $?
expect_in "names the field" "spec.followSymlinks: File/conf: plugin 'file': expected true or false" "$T/p4"
finish
