#!/bin/sh
# Error cases as data: each folder under cases/ holds manifests (m.yaml, plus the shared
# _base/core.yaml copied in as _base.yaml), the command (cmd) and the expectation (expect: the
# exit code on the first line, then text that stderr must contain). Every case must also leave
# nothing applied: no marker file, no recorded resource.
. "$(dirname "$0")/lib.sh"
cases=$(cd "$(dirname "$0")" && pwd)/cases
unset CRATIS_E2E_UNSET
for dir in "$cases"/*/; do
	name=$(basename "$dir")
	[ "$name" = _base ] && continue
	work="$T/$name"
	mkdir -p "$work"
	cp "$cases/_base/core.yaml" "$work/_base.yaml"
	[ -s "$dir/m.yaml" ] && cp "$dir/m.yaml" "$work/m.yaml"
	want_rc=$(head -n 1 "$dir/expect")
	# shellcheck disable=SC2046
	(cd "$work" && "$CRATIS" $(cat "$dir/cmd") -f . </dev/null >out 2>err)
	rc=$?
	expect_rc "$name" "$want_rc" "$rc"
	[ "$rc" = "$want_rc" ] || sed 's/^/    /' "$work/err"
	tail -n +2 "$dir/expect" | while IFS= read -r line; do
		[ -n "$line" ] || continue
		if grep -qF -- "$line" "$work/err"; then echo "ok - $name: message"; echo x >> "$T/passes"; else echo "FAIL - $name: '$line' not in stderr:"; sed 's/^/    /' "$work/err"; echo x >> "$T/failures"; fi
	done
	check "$name: nothing ran" test ! -e "$work/ran.marker"
	if [ -e "$work/.cratis/state.db" ]; then
		rows=$("$CRATIS" state list -f "$work" --env staging 2>/dev/null | grep -c . || true)
		expect_rc "$name: state untouched" 0 "$rows"
	fi
done
[ -f "$T/passes" ] && passed=$((passed + $(wc -l < "$T/passes")))
[ -f "$T/failures" ] && failed=$((failed + $(wc -l < "$T/failures")))
finish
