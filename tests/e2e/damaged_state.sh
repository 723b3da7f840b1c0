#!/bin/sh
# A damaged state database is an error for every read command, never an empty answer: after an
# apply, .cratis/state.db is (1) overwritten with garbage from its second page to its end, (2)
# truncated, (3) emptied to zero bytes, (4) replaced by a text file, (5) damaged one page at a
# time, and (6) stamped with a newer schema version. Each read command must exit 1 naming the
# state file (5: or answer exactly as it did on the undamaged file, when the page it visits is
# intact), and must leave the file as it found it.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: t1}
spec:
  system: local
  apply: [touch, t1.marker]
---
apiVersion: file/v1
kind: File
metadata: {name: f1}
spec:
  system: local
  path: f1.txt
  content: hello
  dependsOn: [Task/t1]
YAML
DB="$P/.cratis/state.db"
GOOD="$T/good.db"
"$CRATIS" apply --auto-approve -f "$P" >"$T/apply.out" 2>&1
expect_rc "apply of the project" 0 $?
"$CRATIS" artifact record web 1.0.0 sha256:0123 -f "$P" >/dev/null 2>&1
expect_rc "artifact recorded" 0 $?
# a Rollout in the manifests (never applied: rollout status answers that it has not been applied)
cat >"$P/rollout.yaml" <<'YAML'
apiVersion: cratis/v1
kind: Rollout
metadata: {name: web}
spec:
  strategy: blueGreen
  activePort: 1
  previewPort: 2
  template:
    command: [sleep, "60"]
YAML
check "no WAL left behind by the apply" test ! -s "$DB-wal"
cp "$DB" "$GOOD"
pages=$(($(wc -c <"$GOOD") / 4096))
check "the state has several pages ($pages)" test "$pages" -gt 4

ncmds=8
# run_cmd N OUT ERR: the Nth read command against the project
run_cmd() {
	case $1 in
	1) set -- "$2" "$3" get ;;
	2) set -- "$2" "$3" history ;;
	3) set -- "$2" "$3" history 1 ;;
	4) set -- "$2" "$3" state list ;;
	5) set -- "$2" "$3" state show demo/Task/t1 ;;
	6) set -- "$2" "$3" artifact list ;;
	7) set -- "$2" "$3" rollout status ;;
	8) set -- "$2" "$3" plan ;;
	esac
	o=$1 e=$2
	shift 2
	last_cmd="$*"
	"$CRATIS" "$@" -f "$P" </dev/null >"$o" 2>"$e"
}

# answers on the undamaged state: each one non-empty (so an empty answer would be a change)
n=1
while [ $n -le $ncmds ]; do
	run_cmd $n "$T/good.$n.out" "$T/good.$n.err"
	echo $? >"$T/good.$n.rc"
	if [ -s "$T/good.$n.out" ] || [ -s "$T/good.$n.err" ]; then ok "undamaged: cratis $last_cmd answers (exit $(cat "$T/good.$n.rc"))"; else fail "undamaged: cratis $last_cmd says nothing"; fi
	n=$((n + 1))
done
expect_in "undamaged history lists the apply" "succeeded" "$T/good.2.out"
expect_in "undamaged state list lists the task" "demo/Task/t1" "$T/good.4.out"
expect_in "undamaged artifact list lists the artifact" "sha256:0123" "$T/good.6.out"

# every_command_fails LABEL NEEDLE: each read command exits 1, says NEEDLE on stderr, prints
# nothing on stdout and leaves the file byte for byte as it was
every_command_fails() {
	label=$1 needle=$2
	cp "$DB" "$T/before.db"
	n=1
	while [ $n -le $ncmds ]; do
		run_cmd $n "$T/out" "$T/err"
		rc=$?
		if [ $rc = 1 ] && grep -qF -- "$needle" "$T/err" && [ ! -s "$T/out" ]; then
			ok "$label: cratis $last_cmd exits 1 naming the state"
		else
			fail "$label: cratis $last_cmd: expected exit 1, '$needle' on stderr and no stdout; got exit $rc"
			sed 's/^/    out: /' "$T/out"
			sed 's/^/    err: /' "$T/err"
		fi
		n=$((n + 1))
	done
	check "$label: the file is left as it was" cmp -s "$DB" "$T/before.db"
	rm -f "$DB-wal" "$DB-shm"
}
named="state '$DB'"

# 1. garbage over every page but the first (which holds the header and the schema)
cp "$GOOD" "$DB"
yes 'garbage page' | head -c $(((pages - 1) * 4096)) | dd of="$DB" bs=4096 seek=1 conv=notrunc status=none
every_command_fails "garbage after the header" "$named"
every_command_fails "garbage after the header (malformed)" "malformed"

# 2. a truncated copy (the first third of the file)
head -c $((pages / 3 * 4096)) "$GOOD" >"$DB"
every_command_fails "truncated" "$named"

# 3. zero-length
: >"$DB"
every_command_fails "zero-length" "$named"
every_command_fails "zero-length (not empty state)" "empty file"

# 4. a text file
printf 'this is a text file, not a database\n' >"$DB"
every_command_fails "text file" "$named"
every_command_fails "text file (not SQLite)" "not a SQLite database"

# 5. one damaged page at a time: each command fails naming the state, or (when it does not visit
# that page) answers exactly as on the undamaged file
pg=2
while [ "$pg" -le "$pages" ]; do
	n=1
	while [ $n -le $ncmds ]; do
		cp "$GOOD" "$DB"
		yes 'garbage page' | head -c 4096 | dd of="$DB" bs=4096 seek=$((pg - 1)) conv=notrunc status=none
		cp "$DB" "$T/before.db"
		run_cmd $n "$T/out" "$T/err"
		rc=$?
		cmp -s "$DB" "$T/before.db" || fail "page $pg damaged: cratis $last_cmd changed the state file"
		[ ! -s "$DB-wal" ] || fail "page $pg damaged: cratis $last_cmd left a write-ahead log behind"
		if [ $rc = 1 ] && grep -qF -- "$named" "$T/err" && [ ! -s "$T/out" ]; then
			echo x >>"$T/page.errors"
		elif [ $rc = "$(cat "$T/good.$n.rc")" ] && cmp -s "$T/out" "$T/good.$n.out" && cmp -s "$T/err" "$T/good.$n.err"; then
			:
		else
			fail "page $pg damaged: cratis $last_cmd neither fails naming the state nor answers as before (exit $rc)"
			sed 's/^/    out: /' "$T/out"
			sed 's/^/    err: /' "$T/err"
		fi
		n=$((n + 1))
	done
	pg=$((pg + 1))
done
# (every run above that did not fail was checked; this one counts the sweep itself)
ok "one damaged page at a time: $(($(wc -l <"$T/page.errors" 2>/dev/null || echo 0))) of $(((pages - 1) * ncmds)) runs failed naming the state, the others answered as before"
check "the sweep reached damaged pages" test -s "$T/page.errors"

# 6. a newer schema than this cratis knows: refused, naming both versions
cp "$GOOD" "$DB"
known=$(sqlite3 "$DB" 'PRAGMA user_version')
check "the applied state records its schema version ($known)" test "$known" -ge 2
sqlite3 "$DB" 'PRAGMA user_version = 4242'
every_command_fails "newer schema" "$named"
every_command_fails "newer schema (its version)" "4242"
every_command_fails "newer schema (this cratis' version)" "($known)"
"$CRATIS" apply --auto-approve -f "$P" >"$T/out" 2>"$T/err"
expect_rc "newer schema: apply is refused" 1 $?
expect_in "newer schema: apply names both versions" "has schema version 4242, newer than this cratis knows ($known)" "$T/err"
check "newer schema: the version is left alone" test "$(sqlite3 "$DB" 'PRAGMA user_version')" = 4242
finish
