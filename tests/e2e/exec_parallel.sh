#!/bin/sh
# Exec plugins take part in -j: a pool of plugin processes (default) or one process with requests
# multiplexed by id (`concurrency: 8`). The test plugin (tests/plugins/exec/par) counts how many of
# its requests are in flight at once; 40 resources at -j 8 must reach 8 for apply and for plan's
# refresh (observe), with results identical to -j 1. A process that crashes on one resource fails
# that resource, naming the plugin; it is restarted and every other resource succeeds.
. "$(dirname "$0")/lib.sh"
PAR="$SRC/tests/plugins/exec/par"
mkdir -p "$T/pool" "$T/mux"
cp -r "$PAR" "$T/pool/par"
cp -r "$PAR" "$T/mux/par"
sed 's/^timeoutSeconds: 30$/timeoutSeconds: 30\nconcurrency: 8/' "$PAR/plugin.yaml" >"$T/mux/par/plugin.yaml"
export PAR_DIR="$T/count"
mkdir -p "$PAR_DIR"

# 40 items; items 32..39 depend on item 0..7 through an output reference (item 0 and 5 drift)
project() { # DIR [EXTRA-ITEM]
	mkdir -p "$1"
	i=0
	while [ $i -lt 40 ]; do
		if [ $i -ge 32 ]; then
			from=", from: \"\${Item/item-$((i - 32)).outputs.double}\""
		else
			from=""
		fi
		printf -- '---\napiVersion: par/v1\nkind: Item\nmetadata: {name: item-%d}\nspec: {n: %d%s}\n' $i $i "$from"
		i=$((i + 1))
	done >"$1/items.yaml"
	if [ $# -gt 1 ]; then
		printf -- '---\napiVersion: par/v1\nkind: Item\nmetadata: {name: %s}\nspec: {n: 99}\n' "$2" >>"$1/items.yaml"
	fi
}

reset_count() { rm -f "$PAR_DIR/count" "$PAR_DIR/gaveup" "$PAR_DIR/pids"; }
top() { cut -d' ' -f2 "$PAR_DIR/count"; }
procs() { sort -u "$PAR_DIR/pids" | wc -l; }

# run FORM TARGET JOBS LABEL COMMAND...: cratis with the FORM plugin, expecting TARGET in flight
run() {
	form=$1 target=$2 jobs=$3 label=$4
	shift 4
	reset_count
	CRATIS_PLUGIN_PATH="$T/$form" PAR_TARGET=$target "$CRATIS" "$@" -j "$jobs" >"$T/out" 2>"$T/err"
	echo $? >"$T/rc"
	got=$(top)
	if [ "$got" = "$target" ] && [ ! -e "$PAR_DIR/gaveup" ]; then
		ok "$form: $label at -j $jobs: $got requests in flight"
	else
		fail "$form: $label at -j $jobs: expected $target requests in flight, saw ${got:-none}"
		sed 's/^/    /' "$T/err"
	fi
}

for form in pool mux; do
	project "$T/$form-1"
	project "$T/$form-8"
	run $form 8 8 apply apply -f "$T/$form-8" --auto-approve
	expect_rc "$form: apply at -j 8" 0 "$(cat "$T/rc")"
	if [ $form = pool ]; then
		check "pool: at most 8 processes, more than one" sh -c "[ $(procs) -le 8 ] && [ $(procs) -gt 1 ]"
	else
		check "mux: one process" test "$(procs)" = 1
	fi
	run $form 1 1 apply apply -f "$T/$form-1" --auto-approve
	expect_rc "$form: apply at -j 1" 0 "$(cat "$T/rc")"
	for n in 1 8; do
		for id in $("$CRATIS" state list -f "$T/$form-$n" | awk -F'\t' '{sub(/^[^/]*\//, "", $1); print $1}' | sort); do
			"$CRATIS" state show "$id" -f "$T/$form-$n" -o json | grep -v '"updated":'
		done >"$T/state-$form-$n.json"
	done
	check "$form: state after -j 8 identical to -j 1" cmp -s "$T/state-$form-1.json" "$T/state-$form-8.json"
	check "$form: 40 resources recorded" test "$(grep -c '"status": "ready"' "$T/state-$form-8.json")" = 40
	expect_in "$form: with their outputs" '"double": 78' "$T/state-$form-8.json"

	run $form 8 8 refresh plan -f "$T/$form-8" -o json
	cp "$T/out" "$T/plan-$form-8.json"
	run $form 1 1 refresh plan -f "$T/$form-1" -o json
	cp "$T/out" "$T/plan-$form-1.json"
	check "$form: plan at -j 8 identical to -j 1" cmp -s "$T/plan-$form-1.json" "$T/plan-$form-8.json"
	expect_in "$form: drift reported by observe" "drift: item 5 drifts" "$T/plan-$form-8.json"
	# item 32 takes an output of item 0, which drifted: decided after it, so its value is unknown
	check "$form: a dependent of a drifted item is decided after it" python3 -c "
import json, sys
p = {r['id']: r for r in json.load(open('$T/plan-$form-8.json'))['resources']}
sys.exit(0 if p['Item/item-32']['action'] == 'update' and p['Item/item-33']['action'] == 'no-op' else 1)"
done

# a crash on one resource fails that resource only; the process is restarted for the others
project "$T/crash" crashme
reset_count
CRATIS_PLUGIN_PATH="$T/pool" PAR_TARGET=1 "$CRATIS" apply -f "$T/crash" --auto-approve -j 8 >"$T/out" 2>"$T/err"
expect_rc "apply with a crashing resource fails" 1 $?
expect_in "the crash names the resource and the plugin" "Item/crashme: create failed: plugin 'par': crashed (signal 11)" "$T/err"
"$CRATIS" state list -f "$T/crash" >"$T/state" 2>&1
check "every other resource succeeded" test "$(grep -c ready "$T/state")" = 40
expect_in "the crashed resource is recorded failed" "failed" "$T/state"
check "no plugin process left" sh -c "! pgrep -f '$T/.*/par[.]py' >/dev/null"
finish
