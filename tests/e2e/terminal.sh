#!/bin/sh
# On a terminal (issue 10, Progress and Colour): `cratis apply` run under script(1) (util-linux)
# shows a live view of the running resources, redrawn in place with ANSI sequences, and colours
# its plan symbols and statuses; in a pipe it does neither; NO_COLOR and --no-color remove the
# colour (the live view stays).
. "$(dirname "$0")/lib.sh"
if ! command -v script >/dev/null 2>&1; then
	fail "script(1) is installed (util-linux / bsdutils; scripts/setup.sh)"
	finish
	exit 1
fi
P="$T/p"
mkdir -p "$P"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: slow}
spec:
  apply: [sh, -c, 'sleep 2']
YAML
esc=$(printf '\033')
# on_tty NAME [ENV=VALUE...] -- ARGS...: run cratis ARGS on a pseudo-terminal; what it showed
# goes to $T/NAME
on_tty() {
	name=$1; shift
	{
		echo '#!/bin/sh'
		while [ "$1" != "--" ]; do printf 'export %s\n' "$1"; shift; done
		shift
		printf '"%s"' "$CRATIS"
		for a in "$@"; do printf ' "%s"' "$a"; done
		printf ' -f "%s" --env staging\n' "$P"
	} >"$T/$name.sh"
	chmod +x "$T/$name.sh"
	TERM=xterm script -qec "$T/$name.sh" /dev/null >"$T/$name" 2>&1 </dev/null
}
has() { grep -qF -- "$2" "$T/$1"; }
destroy() { "$CRATIS" destroy -f "$P" --env staging --auto-approve >/dev/null 2>&1; }

on_tty tty NO_COLOR= -- apply --auto-approve
expect_in "on a terminal: the apply ran" "1 succeeded, 0 failed, 0 skipped" "$T/tty"
expect_in "the live view shows the running resource with its elapsed time" "Task/slow: creating... [" "$T/tty"
check "the live view is erased in place (cursor up, erase below)" has tty "${esc}[1A${esc}[J"
check "the plan symbol in colour" has tty "${esc}[32m+${esc}[0m"
check "the status in colour" has tty "${esc}[32mcreated${esc}[0m"
check "the summary in colour" has tty "${esc}[32mApply complete:"
destroy

on_tty nocolor NO_COLOR=1 -- apply --auto-approve
expect_in "NO_COLOR: the apply ran" "Apply complete: 1 succeeded" "$T/nocolor"
check "NO_COLOR: no colour" sh -c "! grep -q '${esc}\[3[0-9]m' '$T/nocolor'"
check "NO_COLOR: the live view stays" has nocolor "${esc}[1A${esc}[J"
destroy

on_tty flag NO_COLOR= -- apply --auto-approve --no-color
expect_in "--no-color: the apply ran" "Apply complete: 1 succeeded" "$T/flag"
check "--no-color: no colour" sh -c "! grep -q '${esc}\[3[0-9]m' '$T/flag'"
destroy

on_tty plan NO_COLOR= -- plan
check "plan on a terminal: the symbol in colour" has plan "${esc}[32m+${esc}[0m"

TERM=xterm "$CRATIS" apply -f "$P" --env staging --auto-approve >"$T/pipe" 2>&1
expect_in "in a pipe: the apply ran" "Apply complete: 1 succeeded" "$T/pipe"
check "in a pipe: no ANSI sequence at all" sh -c "! grep -q '$esc' '$T/pipe'"
destroy
finish
