#!/bin/sh
# kill -9 during `rollout promote`, at points drawn from a seeded PRNG, in a bounded loop: never
# two active releases (each switch is one unit of work), and after the next run (which settles an
# interrupted switch) exactly one active release, no release process that the store does not
# track as running, and a plan that converges (no changes). ROLLOUT_KILL_ITERATIONS (default 30)
# and ROLLOUT_KILL_SEED (default 12) make a failure repeatable.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/rollout" "$P"
rm -rf "$P/.cratis"
sed -i 's/autoPromotion: true/autoPromotion: false/' "$P/shop.yaml"
# each release shuts down gracefully (0.3 s after SIGTERM, as a server draining its connections
# does), so stopping the release a switch retires takes a while: a kill may land in it
python3 - "$P/shop.yaml" <<'PY2'
import sys
p = sys.argv[1]; s = open(p).read()
old = """command: [sh, -c, 'exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory ".cratis/site/$0"', "${version}"]"""
new = """command: [sh, -c, 'python3 -m http.server "$PORT" --bind 127.0.0.1 --directory ".cratis/site/$0" & p=$!; trap "sleep 0.3; kill $p; exit 0" TERM; wait $p', "${version}"]"""
assert old in s
open(p, "w").write(s.replace(old, new))
PY2
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
C() { "$CRATIS" "$@" -f "$P"; }
stop_all() { C destroy --auto-approve >/dev/null 2>&1; return 0; }
cleanup_hooks="stop_all"
N=${ROLLOUT_KILL_ITERATIONS:-30}
SEED=${ROLLOUT_KILL_SEED:-12}

# count STATUS FILE: releases recorded with that status
count() { python3 -c "import json,sys; print(sum(1 for r in json.load(open(sys.argv[2])) if r['status']==sys.argv[1]))" "$1" "$2" 2>/dev/null || echo unreadable; }
# untracked FILE: release processes of this test whose port no running release (active, previous,
# preview) is recorded on
untracked() {
	ports=$(python3 -c "import json,sys; print(' '.join(str(r['port']) for r in json.load(open(sys.argv[1])) if r['status'] in ('active','previous','preview')))" "$1" 2>/dev/null)
	n=0
	for pid in $(own_procs "http[.]server"); do
		port=$( (tr '\0' ' ' <"/proc/$pid/cmdline") 2>/dev/null | sed -n 's/.*http[.]server \([0-9]*\) .*/\1/p')
		[ -n "$port" ] || continue
		case " $ports " in *" $port "*) ;; *) n=$((n + 1)); echo "untracked release process $pid on port $port" >&2 ;; esac
	done
	echo "$n"
}

APP_VERSION=v0 C apply --auto-approve >/dev/null 2>"$T/a0.err"
expect_rc "first release" 0 $?
# how long one promote takes here scales the kill points, so that they fall inside it (the
# duration decides nothing else: no assertion depends on time)
ms=$(python3 -c "import subprocess,sys,time; t=time.monotonic(); rc=subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(int((time.monotonic()-t)*1000) if rc == 0 else -1)" "$CRATIS" rollout promote -f "$P")
check "first release promoted" test "$ms" -ge 0
# the kill delays in milliseconds, one per iteration: uniform over 0 .. 1.2 x that duration,
# from the seeded PRNG
DELAYS=$(python3 -c "import random,sys; r=random.Random(int(sys.argv[1])); print(' '.join(str(int(r.random() * 1.2 * max(int(sys.argv[3]), 50))) for _ in range(int(sys.argv[2]))))" "$SEED" "$N" "$ms")
echo "# one promote took ${ms}ms; kill delays (ms): $DELAYS"
bad=0
mid=0
i=1
for d in $DELAYS; do
	APP_VERSION="v$i" C apply --auto-approve >/dev/null 2>"$T/apply.err"
	rc=$?
	if [ "$rc" != 0 ]; then bad=$((bad + 1)); echo "iteration $i: apply v$i failed ($rc)"; cat "$T/apply.err"; fi
	C rollout history -o json >"$T/h.json" 2>/dev/null
	a=$(count active "$T/h.json")
	u=$(untracked "$T/h.json")
	if [ "$a" != 1 ] || [ "$u" != 0 ]; then bad=$((bad + 1)); echo "iteration $i: after apply: $a active, $u untracked"; fi
	APP_VERSION="v$i" C plan --detailed-exitcode >/dev/null 2>"$T/plan.err"
	prc=$?
	# the release in preview waits for promote: the plan shows no change to make
	if [ "$prc" != 0 ]; then bad=$((bad + 1)); echo "iteration $i: plan does not converge (exit $prc)"; APP_VERSION="v$i" C plan 2>&1; fi
	# not through C: $! must be cratis itself (a function in the background is a subshell that
	# kill -9 would kill instead, leaving cratis running)
	"$CRATIS" rollout promote -f "$P" >/dev/null 2>"$T/promote.err" &
	pp=$!
	sleep "$(python3 -c "print($d / 1000)")"
	kill -9 "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null
	C rollout history -o json >"$T/k.json" 2>/dev/null
	a=$(count active "$T/k.json")
	case "$a" in 0 | 1) ;; *) bad=$((bad + 1)); echo "iteration $i (kill after ${d}ms): $a active releases" ;; esac
	[ "$(count promoting "$T/k.json")$(count retiring "$T/k.json")" = 00 ] || mid=$((mid + 1))
	i=$((i + 1))
done
# the last run settles whatever the last kill interrupted
APP_VERSION="v$i" C apply --auto-approve >/dev/null 2>"$T/last.err"
expect_rc "the run after the last kill" 0 $?
C rollout history -o json >"$T/h.json" 2>/dev/null
expect_rc "one active release" 1 "$(count active "$T/h.json")"
expect_rc "no untracked release process" 0 "$(untracked "$T/h.json")"
APP_VERSION="v$i" C plan --detailed-exitcode >/dev/null 2>&1
expect_rc "plan converges" 0 $?
echo "# $mid of $N kills interrupted a switch (a release left promoting or retiring)"
expect_rc "bad outcomes in $N kills" 0 "$bad"
finish
