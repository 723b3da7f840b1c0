#!/bin/sh
# One state shared by two projects (--state-dir): each plan, apply, get and destroy sees only its
# own project's resources; neither deletes the other's.
. "$(dirname "$0")/lib.sh"
S="$T/state"
for p in alpha beta; do
	mkdir -p "$T/$p"
	cat >"$T/$p/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: $p}
---
apiVersion: exec/v1
kind: Task
metadata: {name: mark}
spec:
  system: local
  apply: [touch, $p.marker]
  destroy: [rm, -f, $p.marker]
YAML
done
C() { dir=$1; shift; "$CRATIS" "$@" -f "$T/$dir" --state-dir "$S"; }
C alpha apply --auto-approve >/dev/null 2>"$T/a1"
expect_rc "alpha applies" 0 $?
expect_rc "a state directory cratis creates is its owner's only" 700 "$(stat -c %a "$S")"
expect_rc "and so is state.db" 600 "$(stat -c %a "$S/state.db")"
C beta plan >"$T/p1" 2>&1
expect_in "beta's plan creates its own Task only" "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged." "$T/p1"
C beta apply --auto-approve >/dev/null 2>"$T/b1"
expect_rc "beta applies" 0 $?
C alpha plan --detailed-exitcode >"$T/p2" 2>&1
expect_rc "alpha sees no change after beta applied" 0 $?
C alpha get >"$T/g" 2>&1
expect_not_in "alpha's get does not list beta's resources as orphaned" "orphaned" "$T/g"
C alpha destroy --auto-approve >/dev/null 2>"$T/d1"
expect_rc "alpha destroys" 0 $?
check "alpha's Task was destroyed" test ! -e "$T/alpha/alpha.marker"
check "beta's Task was left alone" test -e "$T/beta/beta.marker"
C beta plan --detailed-exitcode >"$T/p3" 2>&1
expect_rc "beta still converged" 0 $?
C beta state list >"$T/s" 2>&1
expect_in "the state still holds beta" "beta/Task/mark" "$T/s"
finish
