#!/bin/sh
# Heavy libraries are loaded only by the commands that use them (docs/architecture.md, "Lazy
# libraries"): `cratis version` and `cratis get` never load libgit2 nor libxml2, a plan without
# secrets not libcrypto; `version show`
# on a pom.xml loads both, on a package.json only libgit2; a missing one is an error naming it and
# its package. The dynamic loader's own trace (LD_DEBUG=files) says which libraries a run opened.
. "$(dirname "$0")/lib.sh"
unset CRATIS_BRANCH GITHUB_HEAD_REF GITHUB_REF_NAME CIRCLE_BRANCH CI_COMMIT_REF_NAME
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.test GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=t@example.test

# traced NAME COMMAND...: run the command with the loader's trace in $T/NAME.ld
traced() {
	name=$1; shift
	LD_DEBUG=files LD_DEBUG_OUTPUT="$T/$name.ld" "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	cat "$T/$name".ld.* >"$T/$name.ld" 2>/dev/null
	return $rc
}

traced version "$CRATIS" version
expect_rc "cratis version runs" 0 $?
expect_in "cratis version prints its version" "cratis " "$T/version.out"
expect_in "the loader trace is recorded" "file=libjansson" "$T/version.ld"
expect_not_in "cratis version does not load libgit2" "file=libgit2" "$T/version.ld"
expect_not_in "cratis version does not load libxml2" "file=libxml2" "$T/version.ld"

P="$T/project"
mkdir -p "$P"
cat >"$P/deploy.yaml" <<'YAML'
apiVersion: exec/v1
kind: Task
metadata: {name: noop}
spec:
  apply: ["true"]
YAML
"$CRATIS" apply -f "$P" --auto-approve >"$T/apply.out" 2>&1
expect_rc "apply of a one-task project" 0 $?
traced get "$CRATIS" get -f "$P"
expect_rc "cratis get runs" 0 $?
expect_in "cratis get lists the task as ready" "ready" "$T/get.out"
expect_not_in "cratis get does not load libgit2" "file=libgit2" "$T/get.ld"
expect_not_in "cratis get does not load libxml2" "file=libxml2" "$T/get.ld"
traced plan "$CRATIS" plan -f "$P"
expect_rc "cratis plan runs" 0 $?
expect_not_in "a plan without secrets does not load libcrypto" "file=libcrypto" "$T/plan.ld"
S="$T/secret"
mkdir -p "$S"
cat >"$S/deploy.yaml" <<'YAML'
apiVersion: cratis/v1
kind: Project
metadata: {name: s}
spec:
  secrets: {k: {env: CRATIS_T_LAZY}}
---
apiVersion: exec/v1
kind: Task
metadata: {name: t, project: s}
spec:
  apply: [echo, "${secret:k}"]
YAML
CRATIS_T_LAZY=v1-lazy traced secret "$CRATIS" plan -f "$S"
expect_rc "a plan with a secret" 0 $?
expect_in "hashing a secret loads libcrypto" "file=libcrypto" "$T/secret.ld"

R="$T/repo"
mkdir -p "$R"
git -C "$R" init -q -b main .
cat >"$R/pom.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <version>1.2.3</version>
</project>
XML
git -C "$R" add -A && git -C "$R" commit -qm one
traced pom "$CRATIS" version show -f "$R"
expect_rc "version show on a pom.xml" 0 $?
expect_in "the version comes from pom.xml" "version   1.2.3" "$T/pom.out"
expect_in "the branch comes from git" "branch    main" "$T/pom.out"
expect_in "version show loads libgit2" "file=libgit2" "$T/pom.ld"
expect_in "reading pom.xml loads libxml2" "file=libxml2" "$T/pom.ld"

git -C "$R" rm -q pom.xml
echo '{"name": "app", "version": "2.0.0"}' >"$R/package.json"
git -C "$R" add -A && git -C "$R" commit -qm two
traced npm "$CRATIS" version show -f "$R"
expect_rc "version show on a package.json" 0 $?
expect_in "the version comes from package.json" "version   2.0.0" "$T/npm.out"
expect_in "version show loads libgit2" "file=libgit2" "$T/npm.ld"
expect_not_in "a package.json does not load libxml2" "file=libxml2" "$T/npm.ld"

# a library that is not installed: a copy of cratis whose recorded SONAMEs name versions that do
# not exist (same length, so the binary is otherwise unchanged) fails with a clear message
mkdir -p "$T/missing"
python3 - "$CRATIS" "$T/missing/cratis" <<'PY'
import re, sys
b = open(sys.argv[1], "rb").read()
for lib in (rb"libgit2\.so\.[0-9.]+\0", rb"libxml2\.so\.[0-9.]+\0"):
    names = set(re.findall(lib, b))
    assert len(names) == 1, names
    name = names.pop()
    b = b.replace(name, name[:name.index(b".so.") + 4] + b"9" * (len(name) - name.index(b".so.") - 5) + b"\0")
open(sys.argv[2], "wb").write(b)
PY
chmod +x "$T/missing/cratis"
"$T/missing/cratis" version >"$T/m0.out" 2>&1
expect_rc "cratis version runs without them" 0 $?
"$T/missing/cratis" version show -f "$R" >"$T/m1.out" 2>&1
expect_rc "version show without libgit2 fails" 1 $?
expect_in "the message names libgit2 and its package" "cannot load libgit2 (libgit2.so.9" "$T/m1.out"
expect_in "and says what to install" "install the Debian package libgit2-" "$T/m1.out"
git -C "$R" rm -q package.json
printf '<project><version>3.0.0</version></project>\n' >"$R/pom.xml"
"$T/missing/cratis" version show -f "$R" >"$T/m2.out" 2>&1
expect_rc "reading pom.xml without libxml2 fails" 1 $?
expect_in "the message names libxml2 and its package" "cannot load libxml2 (libxml2.so.9" "$T/m2.out"
expect_in "and says what to install" "install the Debian package libxml2" "$T/m2.out"
finish
