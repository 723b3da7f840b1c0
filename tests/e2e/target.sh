#!/bin/sh
# -target (issue 10): plan, apply and destroy limited to the targets and what they depend on
# (destroy: the targets and what depends on them), with a warning that the run is partial; an
# unknown address is an error with a did-you-mean hint.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
task() { # NAME [DEPENDENCY]
	printf -- '---\napiVersion: exec/v1\nkind: Task\nmetadata: {name: %s}\nspec:\n  system: local\n  apply: [sh, -c, "echo %s >>%s/ran"]\n' "$1" "$1" "$T"
	[ -n "${2:-}" ] && printf '  dependsOn: [Task/%s]\n' "$2"
	return 0
}
{
	printf 'apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n'
	task base; task mid base; task top mid; task other
} >"$P/m.yaml"
C() { "$CRATIS" "$@" -f "$P"; }

C plan -target Task/mid >"$T/plan" 2>"$T/plan.err"
expect_rc "plan -target" 0 $?
expect_in "the target" "Task/mid" "$T/plan"
expect_in "what it depends on" "Task/base" "$T/plan"
expect_not_in "not what depends on it" "Task/top" "$T/plan"
expect_not_in "not the rest" "Task/other" "$T/plan"
expect_in "only those counted" "Plan: 2 to create" "$T/plan"
expect_in "the partial-run warning" "warning: resource targeting is in effect" "$T/plan.err"
expect_not_in "the warning is not on stdout" "targeting" "$T/plan"
C plan -o json --target Task/mid >"$T/plan.json" 2>/dev/null
expect_in "the JSON plan lists the targets" '"targets": [' "$T/plan.json"

C apply -target Task/mid -target Task/other --auto-approve >"$T/apply" 2>&1
expect_rc "apply with two targets" 0 $?
expect_in "apply warns too" "resource targeting is in effect" "$T/apply"
sort "$T/ran" >"$T/ran.sorted"
printf 'base\nmid\nother\n' >"$T/want"
check "exactly the targets and their dependencies ran" cmp -s "$T/want" "$T/ran.sorted"
C state list >"$T/state" 2>&1
expect_not_in "top was not applied" "Task/top" "$T/state"

C apply --auto-approve >/dev/null 2>&1
expect_rc "a full apply" 0 $?
C destroy -target Task/mid --auto-approve >"$T/destroy" 2>&1
expect_rc "destroy -target" 0 $?
expect_in "destroy warns" "resource targeting is in effect" "$T/destroy"
expect_in "the target is deleted" "Task/mid: deleted" "$T/destroy"
expect_in "what depends on it is deleted" "Task/top: deleted" "$T/destroy"
expect_not_in "what it depends on stays" "Task/base: deleted" "$T/destroy"
C state list >"$T/state2" 2>&1
expect_in "base stays" "Task/base" "$T/state2"
expect_in "other stays" "Task/other" "$T/state2"
expect_not_in "mid is gone" "Task/mid" "$T/state2"

# a resource removed from the manifests is deleted only when targeted
C apply --auto-approve >/dev/null 2>&1
python3 - "$P/m.yaml" <<'PY'
import sys
t = open(sys.argv[1]).read().split("---\n")
open(sys.argv[1], "w").write("---\n".join(d for d in t if "name: other}" not in d))
PY
C plan -target Task/base >"$T/plan2" 2>/dev/null
expect_not_in "an untargeted removal waits" "Task/other" "$T/plan2"
C plan -target Task/other >"$T/plan3" 2>/dev/null
expect_rc "a removed resource can be targeted" 0 $?
expect_in "its delete" "Task/other" "$T/plan3"
expect_in "delete" "delete" "$T/plan3"

# unknown addresses
C plan -target Task/mdi >"$T/bad" 2>&1
expect_rc "an unknown target" 1 $?
expect_in "named" "-target: no resource 'Task/mdi'" "$T/bad"
expect_in "did you mean" "did you mean 'Task/mid'?" "$T/bad"
C destroy -target Service/nothing-like-it --auto-approve >"$T/bad2" 2>&1
expect_rc "destroy with an unknown target" 1 $?
expect_in "destroy names it too" "no resource 'Service/nothing-like-it'" "$T/bad2"
C apply -target >"$T/bad3" 2>&1
expect_rc "-target without a value" 64 $?
finish
