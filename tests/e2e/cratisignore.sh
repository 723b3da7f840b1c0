#!/bin/sh
# Directory walks (issue 10): -f DIR skips hidden directories and node_modules, honours the
# walked directory's .cratisignore (globs, **, /-anchored, trailing / for directories, !
# negation, # comments) and skips, with a note under -v, YAML files that are not cratis
# manifests (docker-compose.yml); a file given with -f FILE is still an error.
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P/.github/workflows" "$P/node_modules/pkg/deep" "$P/web/node_modules/x" "$P/gen/sub" \
	"$P/charts/a/templates" "$P/keep" "$P/deploy/extra"
demo_core "$P/core.yaml"
task() { # FILE NAME: a Task document
	cat >"$1" <<YAML
apiVersion: exec/v1
kind: Task
metadata: {name: $2, project: demo}
spec: {apply: ["true"]}
YAML
}
task "$P/deploy/main.yaml" main
task "$P/deploy/extra/extra.yml" extra
# what the walk must not read: each would be an error
echo "broken: [" >"$P/.github/workflows/ci.yml"
echo "broken: [" >"$P/node_modules/pkg/deep/x.yaml"
echo "broken: [" >"$P/web/node_modules/x/y.yaml"
printf 'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n' >"$P/docker-compose.yml"
printf 'name: ci\non: [push]\n' >"$P/deploy/workflow.yaml"
cd "$P" || exit 1

"$CRATIS" validate -v >"$T/a.out" 2>"$T/a.err"
expect_rc "hidden directories, node_modules and a docker-compose.yml are skipped" 0 $?
expect_in "the two Tasks are loaded" "2 resources" "$T/a.out"
expect_in "-v notes the compose file" "docker-compose.yml: skipped: no document has apiVersion and kind" "$T/a.err"
expect_in "and any YAML that is not a manifest" "deploy/workflow.yaml: skipped: no document has apiVersion and kind" "$T/a.err"
expect_in "and node_modules" "node_modules: skipped: directory ignored" "$T/a.err"
expect_not_in "hidden directories are not even mentioned" ".github" "$T/a.err"
"$CRATIS" validate >/dev/null 2>"$T/quiet.err"
check "without -v, no notes" test ! -s "$T/quiet.err"
"$CRATIS" validate -f docker-compose.yml >/dev/null 2>"$T/f.err"
expect_rc "a file given with -f is still an error" 1 $?
expect_in "located" "docker-compose.yml:1:1: apiVersion: missing field" "$T/f.err"
"$CRATIS" plan -f "$P" >"$T/plan.out" 2>&1
expect_rc "plan walks the same way" 0 $?
expect_in "and plans both Tasks" "Task/extra" "$T/plan.out"

# .cratisignore: patterns, anchoring, directories, negation, comments
echo "broken: [" >"$P/gen/sub/out.yaml"
echo "broken: [" >"$P/charts/a/templates/t.yaml"
echo "broken: [" >"$P/keep/a.yaml"
task "$P/keep/b.yaml" b
task "$P/keep/c.draft.yaml" draft
echo "broken: [" >"$P/deploy/extra/skip.yml"
cat >"$P/.cratisignore" <<'IGN'
# generated files
gen/
**/templates
/keep/*.yaml
!/keep/b.yaml
deploy/extra/skip.yml
*.draft.yaml
IGN
"$CRATIS" validate -v >"$T/b.out" 2>"$T/b.err"
expect_rc "every ignored file is skipped" 0 $?
expect_in "the re-included file is loaded" "3 resources" "$T/b.out"
expect_in "a directory rule" "gen: skipped: directory ignored" "$T/b.err"
expect_in "** at the start" "charts/a/templates: skipped: directory ignored" "$T/b.err"
expect_in "an anchored glob" "keep/a.yaml: skipped: ignored" "$T/b.err"
expect_in "a basename glob at any depth" "keep/c.draft.yaml: skipped: ignored" "$T/b.err"
expect_not_in "the negated file is not skipped" "keep/b.yaml" "$T/b.err"
"$CRATIS" plan >"$T/plan2.out" 2>&1
expect_in "plan sees the re-included Task" "Task/b" "$T/plan2.out"
expect_not_in "and not the ignored one" "Task/draft" "$T/plan2.out"

# a rule that does not match leaves the file to the walk: here, an error as before
sed -i 's|^deploy/extra/skip.yml$|deploy/extra/other.yml|' "$P/.cratisignore"
"$CRATIS" validate >/dev/null 2>"$T/c.err"
expect_rc "a broken file not ignored is an error" 1 $?
expect_in "located" "deploy/extra/skip.yml:" "$T/c.err"
rm "$P/deploy/extra/skip.yml"

# node_modules can be re-included with a negation
printf '!node_modules/\n' >>"$P/.cratisignore"
"$CRATIS" validate >/dev/null 2>"$T/d.err"
expect_rc "!node_modules/ re-includes node_modules" 1 $?
expect_in "whose YAML is then read" "node_modules/pkg/deep/x.yaml:" "$T/d.err"
finish
