#!/bin/sh
# Manifests from git (docs/locations.md): the two-repository workflow with the Systems in one
# bare repository and the Project in another, served by `git daemon` on loopback and by file://;
# plans pinned to a tag, a new commit on a branch picked up, a tag served from the cache without
# the network, the pinned commit recorded in history, and malformed locations refused.
. "$(dirname "$0")/lib.sh"
command -v git >/dev/null || { echo "git is not installed (scripts/setup.sh)"; exit 1; }

G="git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main -c advice.detachedHead=false"
SRV=$T/srv
mkdir -p "$SRV" "$T/work"

# the infrastructure repository: Systems and Environments under systems/
$G init -q "$T/infra"
mkdir "$T/infra/systems"
cat >"$T/infra/systems/base.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
  variables: {greeting: one}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: platform}
---
apiVersion: exec/v1
kind: Task
metadata: {name: dns, project: platform}
spec: {system: local, apply: ["true"]}
YAML
(cd "$T/infra" && $G add -A && $G commit -qm one && $G tag v1)
$G clone -q --bare "$T/infra" "$SRV/infra.git"
V1=$(git -C "$T/infra" rev-parse v1)

# git daemon on loopback, stopped at exit
PORT=$(free_port)
git daemon --export-all --base-path="$SRV" --port="$PORT" --listen=127.0.0.1 --reuseaddr \
	--pid-file="$T/daemon.pid" --detach "$SRV"
stop_daemon() { [ -f "$T/daemon.pid" ] && kill "$(cat "$T/daemon.pid")" 2>/dev/null; rm -f "$T/daemon.pid"; }
cleanup_hooks="$cleanup_hooks stop_daemon"
wait_for 10 git ls-remote "git://127.0.0.1:$PORT/infra.git" || { echo "git daemon did not start"; exit 1; }

# the application repository: a Project whose Systems come from the infrastructure repository
$G init -q "$T/app"
cat >"$T/app/project.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
spec:
  environments: [staging]
  systems: ["git::git://127.0.0.1:$PORT/infra.git//systems?ref=v1"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: greet, project: shop}
spec:
  system: local
  apply: [sh, -c, "echo \${greeting} app-one >$T/out"]
YAML
(cd "$T/app" && $G add -A && $G commit -qm app-one)
$G clone -q --bare "$T/app" "$SRV/app.git"
A1=$(git -C "$T/app" rev-parse HEAD)

cd "$T/work"
APP="git::file://$SRV/app.git?ref=main"
"$CRATIS" plan -f "$APP" --env staging >"$T/plan1" 2>&1
expect_rc "plan from two repositories" 0 $?
expect_in "the project's commit is shown" "Manifests from $APP: branch main at commit $A1" "$T/plan1"
expect_in "the systems' tag and commit are shown" "infra.git//systems?ref=v1: tag v1 at commit $V1" "$T/plan1"
expect_in "the plan has the project's task" "Task/greet" "$T/plan1"
expect_not_in "spec.systems takes no resource of the infrastructure repository" "Task/dns" "$T/plan1"
"$CRATIS" plan -v -f "$APP" --env staging >"$T/plan1v" 2>&1
expect_in "and says so with -v" "skipped: a Task document; spec.systems takes only Systems and Environments" "$T/plan1v"
check "clones live in .cratis/git" test -n "$(ls -d "$T/work/.cratis/git/"*infra.git@v1-* 2>/dev/null)"

"$CRATIS" apply -f "$APP" --env staging --auto-approve >"$T/apply1" 2>&1
expect_rc "apply from two repositories" 0 $?
expect_in "the environment's variable came from the infrastructure repository" "one app-one" "$T/out"
"$CRATIS" history >"$T/hist1" 2>&1
expect_in "history records the systems' pinned commit" "at $V1 (v1)" "$T/hist1"
expect_in "history records the project's pinned commit" "at $A1 (main)" "$T/hist1"
"$CRATIS" history -o json >"$T/hist1.json" 2>&1
check "history JSON carries the sources" python3 -c "
import json,sys
d=json.load(open('$T/hist1.json'))[0]
c={s['ref']:s['commit'] for s in d['sources']}
sys.exit(0 if c=={'v1':'$V1','main':'$A1'} else 1)"

# a new commit on infra's main does not move the v1 tag; a new commit on the app's branch is picked up
(cd "$T/infra" && sed -i 's/greeting: one/greeting: two/' systems/base.yaml && $G commit -qam two && $G push -q "$SRV/infra.git" main)
(cd "$T/app" && sed -i 's/app-one/app-two/' project.yaml && $G commit -qam app-two && $G push -q "$SRV/app.git" main)
A2=$(git -C "$T/app" rev-parse HEAD)
"$CRATIS" apply -f "$APP" --env staging --auto-approve >"$T/apply2" 2>&1
expect_rc "apply after new commits" 0 $?
expect_in "the branch's new commit is picked up" "branch main at commit $A2" "$T/apply2"
expect_in "the tag stays pinned" "tag v1 at commit $V1" "$T/apply2"
expect_in "the task ran with the new app and the pinned systems" "one app-two" "$T/out"
"$CRATIS" history >"$T/hist2" 2>&1
expect_in "history has the new commit" "at $A2 (main)" "$T/hist2"
expect_in "history still has the old one" "at $A1 (main)" "$T/hist2"

# a tag already in the cache needs no network: stop the daemon and plan the tag-pinned systems
stop_daemon
wait_for 10 sh -c "! git ls-remote git://127.0.0.1:$PORT/infra.git"
cat >"$T/local.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: offline}
spec:
  environments: [staging]
  systems: ["git::git://127.0.0.1:$PORT/infra.git//systems?ref=v1"]
YAML
cp "$T/local.yaml" "$T/work/local.yaml"
"$CRATIS" plan -f "$T/work/local.yaml" --env staging >"$T/plan3" 2>&1
expect_rc "a cached tag plans without the server" 0 $?
expect_in "still pinned" "tag v1 at commit $V1" "$T/plan3"
# a branch is fetched again, so without the server it fails, naming the location
sed -i 's/ref=v1/ref=main/' "$T/work/local.yaml"
"$CRATIS" plan -f "$T/work/local.yaml" --env staging >"$T/plan4" 2>&1
expect_rc "a branch needs the server" 1 $?
expect_in "the error names the entry" "local.yaml:6:14: spec.systems[0]" "$T/plan4"
rm "$T/work/local.yaml"

# a branch straight from file://, another tag, a commit id
(cd "$T/infra" && $G tag v2)
$G -C "$T/infra" push -q --tags "$SRV/infra.git"
V2=$(git -C "$T/infra" rev-parse v2)
cat >"$T/p.yaml" <<YAML
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
spec:
  environments: [staging]
  includes: ["git::file://$SRV/infra.git//systems?ref=$(echo "$V1" | cut -c1-12)"]
YAML
"$CRATIS" plan -f "$T/p.yaml" --env staging >"$T/plan5" 2>&1
expect_rc "a commit id is a ref" 0 $?
expect_in "pinned to that commit" "commit $(echo "$V1" | cut -c1-12) at commit $V1" "$T/plan5"
sed -i "s/ref=[0-9a-f]*/ref=v2/" "$T/p.yaml"
"$CRATIS" plan -f "$T/p.yaml" --env staging >"$T/plan6" 2>&1
expect_in "another tag, another commit" "tag v2 at commit $V2" "$T/plan6"

# malformed locations are refused, located
sed -i "s|ref=v2\"|ref=nosuch\"|" "$T/p.yaml"
"$CRATIS" plan -f "$T/p.yaml" --env staging >"$T/bad1" 2>&1
expect_rc "an unknown ref is an error" 1 $?
expect_in "it names the ref" "has no branch, tag or commit 'nosuch'" "$T/bad1"
expect_in "it is located" "p.yaml:6:15: spec.includes[0]" "$T/bad1"
"$CRATIS" plan -f "git::file://$SRV/infra.git//../x" --env staging >"$T/bad2" 2>&1
expect_rc "'..' in the subdirectory is refused" 1 $?
expect_in "it says why" "may not hold '..'" "$T/bad2"
"$CRATIS" plan -f "git::file://$SRV/infra.git?depth=1" --env staging >"$T/bad3" 2>&1
expect_in "an unknown query is refused" "unsupported query 'depth=1'" "$T/bad3"
"$CRATIS" plan -f "git::file://$SRV/infra.git//nowhere?ref=v1" --env staging >"$T/bad4" 2>&1
expect_in "a missing subdirectory is an error" "no 'nowhere' in the repository at v1" "$T/bad4"

# examples/two-repos: its README's commands run as they are (the site moved into $T)
mkdir -p "$T/exroot/examples" "$T/bin"
cp -r "$SRC/examples/two-repos" "$T/exroot/examples/"
sed -i "s|/tmp/two-repos-staging|$T/site|" "$T/exroot/examples/two-repos/infra/systems/systems.yaml"
ln -s "$CRATIS" "$T/bin/cratis"
sed -n '/^```sh$/,/^```$/p' "$SRC/examples/two-repos/README.md" | grep -v '^```' >"$T/example.sh"
(cd "$T/exroot" && PATH="$T/bin:$PATH" GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@example.invalid TMPDIR="$T" sh -e "$T/example.sh") >"$T/example.out" 2>&1
expect_rc "examples/two-repos runs as its README says" 0 $?
expect_in "the page carries the platform's greeting" "hello from the platform's staging" "$T/site/index.html"
expect_in "its history names the infrastructure tag" "systems?ref=v1 at" "$T/example.out"
finish
