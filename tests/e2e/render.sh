#!/bin/sh
# cratis render (issue 15): examples/multicloud (web app, API, worker, object storage, database, queue,
# topic, cache)
# rendered for aws, gcp and azure matches the golden root modules in tests/golden/multicloud,
# with the modules copied unchanged; every file parses as HCL (@cdktf/hcl2json from
# tests/tools), every module input is supplied and typed and every referenced output exists
# (tests/tools/check_render.js); `terraform fmt -check` passes when terraform is installed; the
# same input gives the same bytes; capability specs are checked; plugin dependencies are resolved;
# provider options draw lock-in warnings, errors with --deny-lock-in.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/multicloud" "$P"
rm -rf "$P/.cratis"
TOOLS="$SRC/tests/tools"
have_hcl=false
if [ -d "$TOOLS/node_modules/@cdktf/hcl2json" ]; then
	have_hcl=true
elif command -v npm >/dev/null 2>&1; then
	(cd "$TOOLS" && npm install --no-audit --no-fund >"$T/npm.log" 2>&1) && have_hcl=true || { fail "npm install in tests/tools"; cat "$T/npm.log"; }
else
	echo "SKIP - HCL parsing: npm is not installed (scripts/setup.sh installs the test tools when it is)"
fi

for pe in aws:production gcp:staging azure:azure-trial; do
	p=${pe%%:*}; e=${pe#*:}
	"$CRATIS" render -f "$P" --env "$e" -o "$T/out-$p" >"$T/$p.out" 2>"$T/$p.err"
	expect_rc "render $e ($p)" 0 $?
	expect_in "$p: says what it rendered" "rendered 8 capabilities for $p" "$T/$p.out"
	for f in main.tf outputs.tf providers.tf versions.tf; do
		check "$p: $f matches tests/golden/multicloud/$p/$f" cmp "$SRC/tests/golden/multicloud/$p/$f" "$T/out-$p/$f"
	done
	same=true
	for m in "$T/out-$p"/modules/*/"$p"/*/*.tf; do
		rel=${m#"$T/out-$p/modules/"}
		plugin=${rel%%/*}; rest=${rel#*/}
		cmp -s "$m" "$SRC/plugins/$plugin/modules/$rest" || { same=false; echo "differs: $rel"; }
	done
	check "$p: modules copied unchanged from the plugins" $same
	check "$p: seven modules copied (ApiService shares WebApplication's)" test "$(ls -d "$T/out-$p/modules"/*/"$p"/* | grep -c .)" -eq 7
	if $have_hcl; then
		node "$TOOLS/check_render.js" "$T/out-$p" >"$T/$p.check" 2>&1
		expect_rc "$p: HCL parses, inputs supplied and typed, outputs exist" 0 $?
		expect_in "$p: checked every file" "ok 25 files, 8 module calls" "$T/$p.check"
	fi
	if command -v terraform >/dev/null 2>&1; then
		terraform fmt -check -recursive "$T/out-$p" >"$T/$p.fmt" 2>&1
		expect_rc "$p: terraform fmt -check (canonical layout)" 0 $?
	fi
done

# deterministic: the same input twice gives the same bytes
"$CRATIS" render -f "$P" --env production -o "$T/again" >/dev/null 2>&1
check "same input, same bytes" diff -r "$T/out-aws" "$T/again"
# --provider overrides the Environment's provider: production on gcp
"$CRATIS" render -f "$P" --env production --provider gcp -o "$T/prod-gcp" >"$T/pg.out" 2>&1
expect_rc "--provider gcp for production" 0 $?
expect_in "renders for gcp in gcp's default region" "for gcp (europe-west1)" "$T/pg.out"
expect_in "the google provider" 'provider "google"' "$T/prod-gcp/providers.tf"

# the checker fails on a missing input and on an unknown output
if $have_hcl; then
	cp -r "$T/out-aws" "$T/broken"
	sed -i '/instance_class/d; s/module.cache_sessions.port/module.cache_sessions.nope/' "$T/broken/main.tf"
	node "$TOOLS/check_render.js" "$T/broken" >"$T/broken.out" 2>&1
	expect_rc "the checker fails on broken output" 1 $?
	expect_in "names a missing input" "module relational_database_orders: input 'instance_class' (no default) is not supplied" "$T/broken.out"
	expect_in "names a missing output" "module cache_sessions has no output 'nope'" "$T/broken.out"
fi

# errors: no provider, unknown provider, -o missing
cat >"$P/dev.yaml" <<'YAML'
apiVersion: cratis/v1
kind: Environment
metadata: {name: dev}
spec: {variables: {image_tag: dev}}
YAML
sed -i 's/environments: \[staging, production, azure-trial\]/environments: [staging, production, azure-trial, dev]/' "$P/shop.yaml"
"$CRATIS" render -f "$P" --env dev -o "$T/dev" >/dev/null 2>"$T/dev.err"
expect_rc "an environment without a provider" 1 $?
expect_in "says so with a hint" "environment 'dev' names no provider" "$T/dev.err"
expect_in "hint" "hint: set spec.provider (aws, gcp or azure) in the Environment, or pass --provider" "$T/dev.err"
check "nothing written" test ! -e "$T/dev"
"$CRATIS" render -f "$P" --env dev --provider oracle -o "$T/dev" >/dev/null 2>"$T/ora.err"
expect_rc "an unknown provider" 1 $?
expect_in "names it" "unknown provider 'oracle': expected aws, gcp or azure" "$T/ora.err"
"$CRATIS" render -f "$P" --env dev >/dev/null 2>"$T/noo.err"
expect_rc "render without -o" 64 $?

# capability specs are checked (strict fields, types, allowed values) at plan and render
cat >"$P/bad.yaml" <<'YAML'
apiVersion: storage.capabilities/v1
kind: ObjectStorage
metadata: {name: logs}
spec:
  tier: frozen
  sizeGB: 10
YAML
"$CRATIS" render -f "$P" --env production -o "$T/bad" >/dev/null 2>"$T/bad.err"
expect_rc "an unknown field is refused" 1 $?
expect_in "with its location and a hint" "bad.yaml:6:11: spec.sizeGB: unknown field 'sizeGB' of ObjectStorage (storage.capabilities/v1)" "$T/bad.err"
expect_in "did you mean" "did you mean 'sizeGb'?" "$T/bad.err"
sed -i 's/sizeGB/sizeGb/' "$P/bad.yaml"
"$CRATIS" plan -f "$P" --env production >/dev/null 2>"$T/val.err"
expect_rc "plan validates values" 1 $?
expect_in "a value outside the allowed ones" 'bad.yaml:5:9: spec.tier: ObjectStorage/logs: plugin '"'storage'"': expected one of "standard", "infrequent", "archive"' "$T/val.err"
rm "$P/bad.yaml"
"$CRATIS" plan -f "$P" --env production >"$T/plan.out" 2>&1
expect_rc "plan of the example" 0 $?
expect_in "plans the capabilities" "ObjectStorage/assets" "$T/plan.out"
mkdir -p "$T/no-tofu"
PATH="$T/no-tofu" "$CRATIS" apply -f "$P" --env production --auto-approve >/dev/null 2>"$T/apply.err"
expect_rc "apply without OpenTofu on the PATH says it is needed (tests/e2e/capdeploy.sh deploys)" 1 $?
expect_in "how to deploy" "deployed with OpenTofu, and neither \`tofu\` nor \`terraform\` is on the PATH" "$T/apply.err"

# lock-in: provider options for one provider warn; --deny-lock-in makes it an error
cat >"$P/versioned.yaml" <<'YAML'
apiVersion: storage.capabilities/v1
kind: ObjectStorage
metadata: {name: audit}
spec:
  providerOptions:
    aws: {versioning: true}
YAML
"$CRATIS" render -f "$P" --env production -o "$T/lock" >"$T/lock.out" 2>"$T/lock.err"
expect_rc "a provider option renders" 0 $?
expect_in "a warning" "warning: $P/versioned.yaml" "$T/lock.err"
expect_in "with a lock-in warning naming feature and provider" "versioned.yaml:6:23: spec.providerOptions.aws.versioning: ObjectStorage/audit uses the aws-only feature 'versioning'" "$T/lock.err"
expect_in "and the portable alternative" "hint: portable alternative: spec.retentionDays" "$T/lock.err"
expect_in "passed to the module" "versioning     = true" "$T/lock/main.tf"
"$CRATIS" render -f "$P" --env staging -o "$T/lock-gcp" >/dev/null 2>"$T/lockg.err"
expect_rc "on gcp the aws option is not rendered" 0 $?
expect_not_in "no versioning input on gcp" "versioning" "$T/lock-gcp/main.tf"
"$CRATIS" render -f "$P" --env production --deny-lock-in -o "$T/deny" >/dev/null 2>"$T/deny.err"
expect_rc "--deny-lock-in" 1 $?
expect_in "an error" "error: $P/versioned.yaml" "$T/deny.err"
expect_in "the warning is an error" "versioned.yaml:6:23: spec.providerOptions.aws.versioning: ObjectStorage/audit uses the aws-only feature" "$T/deny.err"
check "nothing written with --deny-lock-in" test ! -e "$T/deny"
sed -i 's/versioning: true/versioning: "yes"/' "$P/versioned.yaml"
"$CRATIS" plan -f "$P" --env production >/dev/null 2>"$T/opt.err"
expect_rc "a provider option's type is checked" 1 $?
expect_in "names it" "versioned.yaml:6:24: spec.providerOptions.aws.versioning: ObjectStorage/audit: plugin 'storage': expected true or false, found a string" "$T/opt.err"
rm "$P/versioned.yaml"

# dependencies: a capability plugin needing a missing plugin, and one out of range
mkdir -p "$T/caps/data/modules/aws/lake"
for f in main.tf variables.tf outputs.tf; do : >"$T/caps/data/modules/aws/lake/$f"; done
cat >"$T/caps/data/plugin.yaml" <<'YAML'
name: data
version: 1.0.0
dependencies:
  - {plugin: storage, version: ">=2.0.0", reason: "warehouses use object storage"}
  - {plugin: streams, version: "^1", optional: true}
  - {plugin: messaging, version: "^2", optional: true}
  - {plugin: observability, version: "^1"}
provides:
  capabilities:
    - name: data_lake
      apiVersion: data.capabilities/v1
      kind: DataLake
      fields: []
      outputs: []
      modules:
        aws: {module: lake, inputs: {name: name}, outputs: {}}
YAML
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" render -f "$P" --env production -o "$T/dep" >/dev/null 2>"$T/dep.err"
expect_rc "unmet dependencies" 1 $?
expect_in "a version out of range names both" "capability plugin 'data' ($T/caps/data) requires plugin 'storage' >=2.0.0, found 1.0.0 at $SRC/plugins/storage" "$T/dep.err"
expect_in "a missing one" "requires plugin 'observability' ^1, which is not installed" "$T/dep.err"
expect_not_in "a missing optional one is fine" "streams" "$T/dep.err"
expect_in "an optional one present must be in range" "capability plugin 'data' ($T/caps/data) requires plugin 'messaging' ^2 when present, found 1.0.0 at $SRC/plugins/messaging" "$T/dep.err"
sed -i '/storage, version/d; /observability/d; s/plugin: messaging, version: "^2"/plugin: messaging, version: ">=1.0.0 <2"/' "$T/caps/data/plugin.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" plugin list -f "$P" >"$T/pl.out" 2>&1
expect_rc "met dependencies" 0 $?
expect_in "the plugin's kind is listed" "data.capabilities/v1 DataLake" "$T/pl.out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
