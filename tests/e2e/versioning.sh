#!/bin/sh
# Versioning end to end in git repositories made here: verdicts on main/develop/feature with
# versions in pom.xml and package.json, tag creation, refusal on an existing tag, no-op when
# nothing changed, versions going backwards, the artifact registry (immutable stable, overridable
# snapshot), ${artifact:NAME} in manifests, and a plan rendered as Markdown.
. "$(dirname "$0")/lib.sh"
unset CRATIS_BRANCH GITHUB_HEAD_REF GITHUB_REF_NAME CIRCLE_BRANCH CI_COMMIT_REF_NAME
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.test GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=t@example.test
R="$T/repo"
mkdir -p "$R"
cd "$R" || exit 1
git init -q -b main .
pom() {
	cat >pom.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>test</groupId>
  <artifactId>app</artifactId>
  <version>$1</version>
</project>
XML
}
commit() { git add -A && git commit -qm "$1"; }
V() { "$CRATIS" "$@" -f "$R"; }

pom 1.0.0
commit "1.0.0"
V version show >"$T/show" 2>&1
expect_in "show: version" "version   1.0.0" "$T/show"
expect_in "show: source file and line" "source    $R/pom.xml:6" "$T/show"
expect_in "show: branch and rule" "policy    gitflow, rule main: stable" "$T/show"
V version check >/dev/null 2>&1
expect_rc "check: stable version on main" 0 $?
V release --dry-run >"$T/dry" 2>&1
expect_in "dry run says what it would do" "would create annotated tag v1.0.0 on HEAD" "$T/dry"
check "dry run creates nothing" test -z "$(git tag)"
V release >"$T/rel" 2>&1
expect_rc "release on main" 0 $?
expect_in "release reports the tag" "created annotated tag v1.0.0 on HEAD for 1.0.0" "$T/rel"
check "the tag is annotated" sh -c "[ \$(git cat-file -t v1.0.0) = tag ]"
check "the tag message names the version" sh -c "git tag -n1 v1.0.0 | grep -q 'Release 1.0.0'"
V release >"$T/rel2" 2>&1
expect_rc "release again is a no-op" 0 $?
expect_in "no-op says so" "nothing to release: 1.0.0 is already tagged v1.0.0 on HEAD" "$T/rel2"

# a SNAPSHOT on main is a violation
pom 1.1.0-SNAPSHOT
V version check >/dev/null 2>"$T/c1"
expect_rc "check: SNAPSHOT on main fails" 1 $?
expect_in "the rule is named" "branch 'main' takes stable versions (rule main: stable), found 1.1.0-SNAPSHOT" "$T/c1"
git checkout -q pom.xml

# develop takes snapshots
git checkout -q -b develop
V version check >/dev/null 2>"$T/c2"
expect_rc "check: stable version on develop fails" 1 $?
expect_in "develop rule" "branch 'develop' takes X.Y.Z-SNAPSHOT versions (rule develop: snapshot), found 1.0.0" "$T/c2"
pom 1.1.0-SNAPSHOT
commit "start 1.1.0"
V version check >/dev/null 2>&1
expect_rc "check: SNAPSHOT on develop" 0 $?
V release >"$T/rel3" 2>&1
expect_rc "release on a snapshot branch does nothing" 0 $?
expect_in "and says why" "nothing to release: branch 'develop' takes snapshot versions" "$T/rel3"
pom 1.0.0-SNAPSHOT
V version check >/dev/null 2>"$T/c3"
expect_rc "check: a version that went backwards fails" 1 $?
expect_in "backwards is named" "version went backwards: 1.0.0-SNAPSHOT is lower than the released 1.0.0" "$T/c3"
git checkout -q pom.xml

# a feature branch with package.json as the source (policy names it)
git checkout -q -b feature/login
rm pom.xml
printf '{\n  "name": "app",\n  "version": "1.1.0-SNAPSHOT"\n}\n' >package.json
cat >cratis.yaml <<'YAML'
apiVersion: cratis/v1
kind: Project
metadata: {name: app}
spec:
  versioning:
    source: package.json
YAML
commit "feature"
V version show -o json >"$T/fj" 2>&1
expect_in "json: branch" "\"branch\": \"feature/login\"" "$T/fj"
expect_in "json: rule" "\"rule\": \"feature/*: snapshot\"" "$T/fj"
expect_in "json: source line" "\"line\": 3" "$T/fj"
expect_in "json: verdict" "\"ok\": true" "$T/fj"

# main again: a tag that already exists on another commit is refused
git checkout -q main
git commit -q --allow-empty -m "later work, version not bumped"
git tag -d v1.0.0 >/dev/null
git tag -a v1.0.0 -m "on another commit" HEAD~1
V release >/dev/null 2>"$T/rel4"
expect_rc "release refuses a tag on another commit" 1 $?
expect_in "refusal names the tag and the fix" "tag v1.0.0 already exists on commit" "$T/rel4"
expect_in "refusal says what to do" "bump the version in $R/pom.xml:6" "$T/rel4"
pom 1.1.0
commit "1.1.0"
V release >"$T/rel5" 2>&1
expect_rc "release of a bumped version" 0 $?
expect_in "v1.1.0 created" "created annotated tag v1.1.0" "$T/rel5"
check "tag points at HEAD" sh -c "[ \$(git rev-parse v1.1.0^{commit}) = \$(git rev-parse HEAD) ]"
# a detached HEAD in CI names its branch through the CI's variables
git checkout -q --detach HEAD
GITHUB_REF_NAME=main V version show >"$T/ci" 2>&1
expect_in "detached HEAD takes the branch from CI" "branch    main" "$T/ci"
V version show >/dev/null 2>"$T/det"
expect_rc "detached HEAD without a branch name fails" 1 $?
expect_in "and says how to fix it" "HEAD is detached and no branch is named: set CRATIS_BRANCH" "$T/det"
git checkout -q main

# artifacts: stable immutable, snapshot overridable with history
V artifact record app 1.1.0 sha256:1111 >"$T/a1" 2>&1
expect_in "record a stable artifact" "recorded app 1.1.0: sha256:1111 (immutable)" "$T/a1"
V artifact record app 1.1.0 sha256:1111 >"$T/a2" 2>&1
expect_rc "recording the same digest again is fine" 0 $?
V artifact record app 1.1.0 sha256:2222 >/dev/null 2>"$T/a3"
expect_rc "a new digest for a stable version is refused" 1 $?
expect_in "refusal explains" "artifact 'app' 1.1.0 is immutable: digest sha256:1111 was recorded" "$T/a3"
V artifact record app 1.2.0-SNAPSHOT sha256:aaaa >/dev/null 2>&1
V artifact record app 1.2.0-SNAPSHOT sha256:bbbb >"$T/a4" 2>&1
expect_in "a snapshot is replaced" "replaced snapshot app 1.2.0-SNAPSHOT: sha256:bbbb (was sha256:aaaa, kept in history)" "$T/a4"
V artifact list app --history -o json >"$T/al" 2>&1
expect_in "history keeps the old snapshot" "\"digest\": \"sha256:aaaa\"" "$T/al"
V artifact list >"$T/al2" 2>&1
expect_not_in "the current list hides superseded digests" "sha256:aaaa" "$T/al2"

# deployments resolve ${artifact:NAME}; a plan renders as Markdown for a pull request
mkdir -p "$T/deploy"
cat >"$T/deploy/d.yaml" <<'YAML'
apiVersion: file/v1
kind: File
metadata: {name: image}
spec:
  path: image.txt
  content: "app ${artifact:app.version} @ ${artifact:app}\n"
YAML
cp -r "$R/.cratis" "$T/deploy/.cratis"
"$CRATIS" plan -f "$T/deploy" -o markdown >"$T/md" 2>&1
expect_rc "plan -o markdown" 0 $?
expect_in "markdown summary" "**1 to create, 0 to update, 0 to replace, 0 to delete**" "$T/md"
expect_in "markdown table" "| \`+\` | \`File/image\` | create |" "$T/md"
expect_in "markdown details" "<details><summary><code>File/image</code> create</summary>" "$T/md"
expect_in "the artifact digest is resolved" "app 1.2.0-SNAPSHOT @ sha256:bbbb" "$T/md"
sed -i 's/artifact:app.version/artifact:nope.version/' "$T/deploy/d.yaml"
"$CRATIS" plan -f "$T/deploy" >/dev/null 2>"$T/nope"
expect_rc "an unknown artifact is an error" 1 $?
expect_in "with its location" "d.yaml:6:13: spec.content: no artifact 'nope' is recorded" "$T/nope"
finish
