#!/bin/sh
# The example executable plugin (Python, examples/plugins/notes) proves the JSON protocol:
# apply with an output reference between two resources, no-op plan, drift, destroy.
. "$(dirname "$0")/lib.sh"
P="$T/notes"
cp -r "$SRC/examples/notes" "$P"
export CRATIS_PLUGIN_PATH="$SRC/examples/plugins"
"$CRATIS" plugin list -f "$P" -o json >"$T/list.json" 2>&1
expect_in "plugin list shows the exec form" "\"form\": \"exec\"" "$T/list.json"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>"$T/apply.err"
expect_rc "apply through the Python plugin" 0 $?
digest=$(sha256sum "$P/first.txt" | cut -d' ' -f1)
expect_in "an output of one resource reached another" "the first note's digest is $digest" "$P/second.txt"
"$CRATIS" plan -f "$P" --detailed-exitcode >/dev/null 2>&1
expect_rc "plan after apply: no changes" 0 $?
echo "edited by hand" >"$P/first.txt"
"$CRATIS" plan -f "$P" --detailed-exitcode >"$T/plan.out" 2>&1
expect_rc "plan sees drift reported by the plugin" 2 $?
expect_in "drift reason from the plugin" "drift: text changed on disk" "$T/plan.out"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_in "apply repairs it" "written by a Python plugin" "$P/first.txt"
cat >"$P/bad.yaml" <<'YAML'
apiVersion: notes/v1
kind: Note
metadata: {name: bad}
spec: {path: 42, text: x}
YAML
"$CRATIS" plan -f "$P" >/dev/null 2>"$T/bad.err"
expect_rc "validation error from the plugin" 1 $?
expect_in "names file, line, field and plugin" "bad.yaml:4:14: spec.path: Note/bad: plugin 'notes': missing field or not a string" "$T/bad.err"
rm "$P/bad.yaml"
"$CRATIS" destroy -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "destroy" 0 $?
check "files removed" test ! -e "$P/first.txt" -a ! -e "$P/second.txt"
check "no plugin process left" test -z "$(own_procs 'plugins/notes/notes[.]py')"
finish
