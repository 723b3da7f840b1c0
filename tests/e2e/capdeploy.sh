#!/bin/sh
# Deploying capabilities through OpenTofu (issue 15): `cratis apply` renders each capability
# resource's own root module into its state directory and runs `tofu init`, `tofu apply` and
# `tofu output -json` there, recording the portable outputs and the OpenTofu state location in
# cratis' state. OpenTofu is not installed here: the present case runs a test double for `tofu`
# (below) that checks it is called in a rendered root module with the expected subcommands and
# prints outputs in `tofu output -json`'s shape; no real OpenTofu run is tested. The absent case
# is real: a PATH with neither tofu nor terraform.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/multicloud" "$P"
rm -rf "$P/.cratis"
export CRATIS_STATE_DIR="$T/state"
unset CRATIS_CAPABILITY_PATH
ORIG_PATH=$PATH
mkdir -p "$T/empty" "$T/bin" "$T/tfbin"
RUN="$T/state/run/production/shop"

# --- absent: neither tofu nor terraform on the PATH ---
PATH="$T/empty" "$CRATIS" plan -f "$P" --env production >"$T/plan.out" 2>&1
expect_rc "without OpenTofu, plan still works" 0 $?
expect_in "... and lists the capabilities" "RelationalDatabase/orders" "$T/plan.out"
PATH="$T/empty" "$CRATIS" cost -f "$P" --env production >"$T/cost.out" 2>&1
expect_rc "without OpenTofu, cost still prices" 0 $?
PATH="$T/empty" "$CRATIS" render -f "$P" --env production -o "$T/r" >/dev/null 2>&1
expect_rc "without OpenTofu, render still renders" 0 $?
PATH="$T/empty" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/absent.out" 2>"$T/absent.err"
expect_rc "without OpenTofu, apply fails" 1 $?
expect_in "saying OpenTofu is needed" "ObjectStorage/assets is a portable capability deployed with OpenTofu, and neither \`tofu\` nor \`terraform\` is on the PATH: install OpenTofu (https://opentofu.org/docs/intro/install/), or run \`cratis render --env production -o DIR\`" "$T/absent.err"
check "nothing was rendered for OpenTofu" test ! -e "$RUN/ObjectStorage-assets/main.tf"
rm -rf "$T/state"

# --- present: a test double for tofu ---
cat >"$T/bin/tofu" <<'SH'
#!/bin/sh
# test double for OpenTofu: logs "DIR SUBCOMMAND ARGS", checks it runs in a rendered root module
echo "$(basename "$0") $PWD $*" >>"$TOFU_LOG"
for f in main.tf outputs.tf providers.tf versions.tf; do
	[ -f "$f" ] || { echo "Error: $f missing in $PWD" >&2; exit 1; }
done
case "$1" in
init) [ -d modules ] || { echo "Error: no modules folder" >&2; exit 1; }; mkdir -p .terraform ;;
apply) [ -d .terraform ] || { echo "Error: apply before init" >&2; exit 1; }
	if [ -n "${TOFU_FAIL:-}" ] && grep -q "$TOFU_FAIL" main.tf; then
		printf '\n\342\225\267\n\342\224\202 Error: creating S3 Bucket (shop-production-assets): AccessDenied\n\342\224\202\n' >&2; exit 1
	fi
	echo '{"version":4}' >terraform.tfstate ;;
output) [ "$2" = -json ] || { echo "Error: expected -json" >&2; exit 1; }
	printf '{'; sep=''
	for o in $(sed -n 's/^output "\([^"]*\)".*/\1/p' outputs.tf); do
		sens=false; case "$o" in ${TOFU_SENSITIVE:-}*) [ -n "${TOFU_SENSITIVE:-}" ] && sens=true ;; esac
		printf '%s"%s":{"sensitive":%s,"type":"string","value":"%s-value"}' "$sep" "$o" "$sens" "$o"; sep=','
	done; printf '}\n' ;;
destroy) rm -f terraform.tfstate ;;
*) echo "Error: unexpected subcommand $1" >&2; exit 1 ;;
esac
SH
chmod +x "$T/bin/tofu"
export TOFU_LOG="$T/tofu.log"
export TOFU_SENSITIVE=cache_sessions_   # the cache's outputs are sensitive: sealed in state
PATH="$T/bin:$ORIG_PATH" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/apply.out" 2>"$T/apply.err"
expect_rc "apply through the tofu double" 0 $?
expect_in "all eight capabilities" "Apply complete: 8 succeeded, 0 failed" "$T/apply.out"
check "tofu ran 3 times for each of the 8 resources" test "$(grep -c . "$TOFU_LOG")" = 24
for r in ObjectStorage-assets RelationalDatabase-orders WebApplication-web PubSub-events; do
	check "$r: init, apply, output -json in its own root module" test "$(grep " $RUN/$r " "$TOFU_LOG" | cut -d' ' -f3-)" = \
		"$(printf 'init -input=false -no-color\napply -input=false -no-color -auto-approve\noutput -json -no-color')"
done
expect_in "the root module is the resource's alone" 'module "relational_database_orders"' "$RUN/RelationalDatabase-orders/main.tf"
expect_not_in "... without the others" 'module "web_application_web"' "$RUN/RelationalDatabase-orders/main.tf"
expect_in "its provider block" 'region = "eu-west-1"' "$RUN/RelationalDatabase-orders/providers.tf"
expect_in "output references resolved from the outputs tofu gave" \
	'DATABASE_HOST = "relational_database_orders_host-value"' "$RUN/WebApplication-web/main.tf"
check "orders applied before web" test "$(grep -n "RelationalDatabase-orders output" "$TOFU_LOG" | cut -d: -f1)" -lt \
	"$(grep -n "WebApplication-web init" "$TOFU_LOG" | cut -d: -f1)"
"$CRATIS" state show -f "$P" --env production RelationalDatabase/orders -o json >"$T/show.json"
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
check "state records the portable outputs" test "$(py "$T/show.json" "d['outputs']['host'], d['outputs']['port']")" = \
	"relational_database_orders_host-value relational_database_orders_port-value"
check "state records the OpenTofu state location" test "$(py "$T/show.json" "d['outputs']['opentofu']['state']")" = \
	"$RUN/RelationalDatabase-orders/terraform.tfstate"
check "... and the tool" test "$(py "$T/show.json" "d['outputs']['opentofu']['tool']")" = tofu
check "the OpenTofu state is there" test -f "$RUN/RelationalDatabase-orders/terraform.tfstate"
"$CRATIS" state show -f "$P" --env production Cache/sessions >"$T/cache.show"
expect_in "an output OpenTofu marks sensitive is redacted" "(sensitive) hmac-sha256:" "$T/cache.show"
expect_not_in "... and never in clear in state show" "cache_sessions_primary_endpoint-value" "$T/cache.show"
DBS=$(find "$T" -name '*.db' -type f)
check "the state database is found" test -n "$DBS"
check "... and never holds the sensitive output in clear" sh -c '! grep -q cache_sessions_primary_endpoint-value "$@"' sh $DBS

# nothing changed: no tofu call; a change runs tofu for that resource (and those that read it)
: >"$TOFU_LOG"
PATH="$T/bin:$ORIG_PATH" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/noop.out" 2>&1
expect_rc "apply again" 0 $?
check "no change, no tofu call" test ! -s "$TOFU_LOG"
sed -i 's/  tier: small/  tier: medium/' "$P/shop.yaml"
PATH="$T/bin:$ORIG_PATH" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/upd.out" 2>&1
expect_rc "apply a changed cache" 0 $?
check "tofu runs for the cache only (web reads its outputs, which did not change)" test \
	"$(cut -d' ' -f2 "$TOFU_LOG" | sort -u)" = "$RUN/Cache-sessions"
expect_in "the new size rendered" 'node_type         = "cache.m6g.large"' "$RUN/Cache-sessions/main.tf"

# a failing tofu: its exit code and what it said
sed -i 's/  sizeGb: 250/  sizeGb: 300/' "$P/shop.yaml"
TOFU_FAIL=s3_bucket PATH="$T/bin:$ORIG_PATH" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/fail.out" 2>"$T/fail.err"
expect_rc "a failing tofu apply fails the resource" 1 $?
expect_in "with tofu's error" "\`tofu apply\` failed in $RUN/ObjectStorage-assets (exit 1): creating S3 Bucket (shop-production-assets): AccessDenied" "$T/fail.err"

# terraform when there is no tofu
mkdir -p "$T/tfbin"
cp "$T/bin/tofu" "$T/tfbin/terraform"
: >"$TOFU_LOG"
PATH="$T/tfbin:$ORIG_PATH" "$CRATIS" apply -f "$P" --env production --auto-approve >"$T/tf.out" 2>&1
expect_rc "terraform when tofu is absent" 0 $?
expect_in "terraform ran" "terraform $RUN/ObjectStorage-assets apply" "$TOFU_LOG"
"$CRATIS" state show -f "$P" --env production ObjectStorage/assets -o json >"$T/show2.json"
check "the tool recorded is terraform" test "$(py "$T/show2.json" "d['outputs']['opentofu']['tool']")" = terraform

# destroy: tofu destroy in each root module
: >"$TOFU_LOG"
PATH="$T/bin:$ORIG_PATH" "$CRATIS" destroy -f "$P" --env production --auto-approve >"$T/destroy.out" 2>&1
expect_rc "destroy" 0 $?
check "tofu destroy for each of the 8" test "$(grep -c ' destroy -input=false -no-color -auto-approve$' "$TOFU_LOG")" = 8
check "the OpenTofu state emptied" test ! -e "$RUN/RelationalDatabase-orders/terraform.tfstate"
finish
