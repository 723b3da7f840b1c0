#!/bin/sh
# Two cratis commands that open a state which does not exist yet, at the same moment, both
# succeed: the one that does not create the file must not find it half made. (A zero-length
# state.db is refused as damaged; the creator must never let another process see one.) Read
# commands on a fresh state, and a read command racing the first apply, each in many rounds.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
cat >"$P/m.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
---
apiVersion: exec/v1
kind: Task
metadata: {name: t}
spec:
  system: local
  apply: ["true"]
YAML
rounds=${FIRST_OPEN_ROUNDS:-40}

# race LABEL CMD-A CMD-B: in each round, a fresh state directory opened by both commands at once
race() {
	label=$1 a=$2 b=$3
	bad=0
	i=0
	while [ $i -lt "$rounds" ]; do
		d="$T/state.$label.$i"
		# shellcheck disable=SC2086
		"$CRATIS" $a -f "$P" --state-dir "$d" >"$T/a.out" 2>"$T/a.err" </dev/null &
		pa=$!
		# shellcheck disable=SC2086
		"$CRATIS" $b -f "$P" --state-dir "$d" >"$T/b.out" 2>"$T/b.err" </dev/null
		rb=$?
		wait $pa
		ra=$?
		if [ $ra != 0 ] || [ $rb != 0 ]; then
			bad=$((bad + 1))
			[ $bad -gt 1 ] || { echo "    round $i: '$a' exit $ra, '$b' exit $rb"; sed 's/^/    /' "$T/a.err" "$T/b.err"; }
		fi
		i=$((i + 1))
	done
	if [ $bad = 0 ]; then ok "$label: $rounds rounds, both commands succeeded each time"; else fail "$label: $bad of $rounds rounds had a command fail"; fi
}
race "two reads" "state list" "history"
race "a read and the first apply" "apply --auto-approve" "state list"
finish
