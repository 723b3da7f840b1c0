#!/bin/sh
# Golden tests of `cratis transform` (docs/transform.md). For each case in cases/NAME and each
# provider P: input.py transformed for P equals expected.P.py byte for byte (stderr.P: the
# warnings expected, if any); the output compiles (python3 -m py_compile); transforming it again
# changes nothing (idempotence; --check exits 0 on it, 1 on the input); --diff shows the change.
# errors/NAME.py: each must fail with the diagnostics in errors/NAME.err (file:line:col) and
# write nothing. Then directory mode (-i DIR -o DIR: every file, requirements.txt) and stdin.
# UPDATE=1 rewrites the expected files from the current output (review them with git diff).
. "$(dirname "$0")/../e2e/lib.sh"
cd "$SRC/tests/transform" || exit 1
export CRATIS_RULES_PATH="$SRC/plugins"
for dir in cases/*/; do
	case_=$(basename "$dir")
	in="cases/$case_/input.py"
	for p in aws gcp azure; do
		want="cases/$case_/expected.$p.py" werr="cases/$case_/stderr.$p"
		"$CRATIS" transform --provider "$p" -i "$in" >"$T/out.py" 2>"$T/err"
		rc=$?
		grep -v '^requirement: ' "$T/err" >"$T/warn"
		if [ "${UPDATE:-}" = 1 ]; then
			cp "$T/out.py" "$want"
			if [ -s "$T/warn" ]; then cp "$T/warn" "$werr"; else rm -f "$werr"; fi
		fi
		expect_rc "$case_/$p: transform" 0 "$rc"
		if cmp -s "$want" "$T/out.py"; then ok "$case_/$p: output equals $want"; else
			fail "$case_/$p: output differs from $want"; diff -u "$want" "$T/out.py" | head -40; fi
		if cmp -s "${werr}" "$T/warn" 2>/dev/null || { [ ! -f "$werr" ] && [ ! -s "$T/warn" ]; }; then
			ok "$case_/$p: diagnostics as expected"
		else
			fail "$case_/$p: diagnostics differ"; cat "$T/warn"
		fi
		check "$case_/$p: output compiles" python3 -m py_compile "$T/out.py"
		"$CRATIS" transform --provider "$p" -i "$T/out.py" >"$T/again.py" 2>/dev/null
		if cmp -s "$T/out.py" "$T/again.py"; then ok "$case_/$p: idempotent"; else fail "$case_/$p: a second run changed the output"; diff -u "$T/out.py" "$T/again.py" | head -20; fi
		"$CRATIS" transform --provider "$p" --check -i "$T/out.py" >/dev/null 2>&1
		expect_rc "$case_/$p: --check on the output" 0 $?
		if cmp -s "$in" "$want"; then continue; fi
		"$CRATIS" transform --provider "$p" --check -i "$in" >"$T/check" 2>/dev/null
		expect_rc "$case_/$p: --check on the input" 1 $?
		expect_in "$case_/$p: --check names the file" "$in" "$T/check"
		"$CRATIS" transform --provider "$p" --diff -i "$in" >"$T/diff" 2>/dev/null
		expect_rc "$case_/$p: --diff" 0 $?
		expect_in "$case_/$p: --diff is a unified diff of the file" "+++ b/$in" "$T/diff"
	done
done
for f in errors/*.py; do
	case_=$(basename "$f" .py)
	"$CRATIS" transform --provider aws -i "$f" -o "$T/never.py" >"$T/stdout" 2>"$T/err"
	rc=$?
	[ "${UPDATE:-}" = 1 ] && cp "$T/err" "errors/$case_.err"
	expect_rc "errors/$case_: refused" 1 "$rc"
	if cmp -s "errors/$case_.err" "$T/err"; then ok "errors/$case_: diagnostics as expected"; else
		fail "errors/$case_: diagnostics differ"; diff -u "errors/$case_.err" "$T/err"; fi
	check "errors/$case_: nothing written" test ! -e "$T/never.py"
done
# --deny-lock-in: a provider-specific SDK module (kept, a lock-in warning) fails the file
"$CRATIS" transform --provider aws --deny-lock-in -i cases/provider_specific/input.py -o "$T/never.py" >"$T/stdout" 2>"$T/err"
expect_rc "--deny-lock-in refuses a provider-specific import" 1 $?
expect_in "--deny-lock-in: the warning is an error at file:line:col naming the provider" \
	"error: cases/provider_specific/input.py:2:27: 'infrar.aws.s3.enable_versioning' is specific to aws" "$T/err"
expect_not_in "--deny-lock-in: no warning left" "warning:" "$T/err"
check "--deny-lock-in: nothing written" test ! -e "$T/never.py"
"$CRATIS" transform --provider gcp --deny-lock-in --check -i cases/provider_specific/input.py >/dev/null 2>"$T/err"
expect_rc "--deny-lock-in with --check" 1 $?
expect_in "--deny-lock-in names the other provider too" "the output for gcp will not run without aws" "$T/err"
"$CRATIS" transform --provider aws --deny-lock-in -i cases/from_alias/input.py >"$T/portable.py" 2>"$T/err"
expect_rc "--deny-lock-in passes portable code" 0 $?
check "--deny-lock-in: portable output as without it" cmp -s "$T/portable.py" cases/from_alias/expected.aws.py
# a directory: every .py transformed into the output tree, requirements.txt completed
mkdir -p "$T/app/pkg" "$T/tree"
cp cases/from_alias/input.py "$T/app/main.py"
cp cases/blocks/input.py "$T/app/pkg/jobs.py"
printf 'requests==2.31.0\n' >"$T/app/requirements.txt"
"$CRATIS" transform --provider aws -i "$T/app" -o "$T/tree" >"$T/dir.out" 2>&1
expect_rc "directory mode" 0 $?
check "directory mode: main.py" cmp -s "$T/tree/main.py" cases/from_alias/expected.aws.py
check "directory mode: pkg/jobs.py" cmp -s "$T/tree/pkg/jobs.py" cases/blocks/expected.aws.py
expect_in "directory mode: requirements.txt keeps the app's own" "requests==2.31.0" "$T/tree/requirements.txt"
expect_in "directory mode: requirements.txt gets boto3" "boto3>=1.26" "$T/tree/requirements.txt"
"$CRATIS" transform --provider aws -i "$T/tree" -o "$T/tree" >/dev/null 2>&1
expect_rc "directory mode in place on the output" 0 $?
n=$(grep -c boto3 "$T/tree/requirements.txt")
expect_rc "requirements.txt names boto3 once after a second run" 1 "$n"
"$CRATIS" transform --provider gcp --check -i "$T/app" >"$T/check" 2>&1
expect_rc "--check on a directory with SDK calls" 1 $?
expect_in "--check lists main.py" "main.py" "$T/check"
# stdin to stdout
"$CRATIS" transform --provider aws <cases/from_alias/input.py >"$T/stdin.py" 2>/dev/null
check "stdin to stdout" cmp -s "$T/stdin.py" cases/from_alias/expected.aws.py
"$CRATIS" transform --provider nope -i cases/from_alias/input.py >/dev/null 2>"$T/err"
expect_rc "unknown provider" 64 $?
expect_in "unknown provider named" "expected aws, gcp or azure, got 'nope'" "$T/err"
finish
