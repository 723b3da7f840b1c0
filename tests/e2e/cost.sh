#!/bin/sh
# cratis cost (issue 15): examples/multicloud priced on aws, gcp and azure from the plugins'
# cost_models/<provider>.yaml, the totals checked against the hand computations below; a usage
# file changes only the usage-based components; --diff after changing an instance size shows the
# difference; a formula error is located at the cost model's file:line; lock-in warnings in plan
# and cost (the text render prints) and --deny-lock-in exit codes.
. "$(dirname "$0")/lib.sh"
P="$T/shop"
cp -r "$SRC/examples/multicloud" "$P"
rm -rf "$P/.cratis"
export CRATIS_STATE_DIR="$T/state"
unset CRATIS_CAPABILITY_PATH

# Hand computations from the price tables (730 hours a month). production: aws in eu-west-1; gcp
# and azure at their default regions europe-west1 and westeurope.
#
# aws (eu-west-1)
#   WebApplication/web (1 vCPU, 2048 MiB, 2 instances): 1 x 2 x 730 = 1460 vCPU-h x 0.04048 = 59.1008
#     + 2 GB x 2 x 730 = 2920 GB-h x 0.004445 = 12.9794 + ALB 730 h x 0.0252 = 18.396  => 90.4762
#   ObjectStorage/assets (250 GB, STANDARD): 250 x 0.023                               =>  5.75
#   RelationalDatabase/orders (medium = db.m6g.large, HA doubles): 1460 h x 0.168 = 245.28
#     + storage 100 x 2 = 200 GB x 0.127 = 25.40                                       => 270.68
#   MessageQueue/jobs: requests only, usage-based                                       =>  0
#   Cache/sessions (small = cache.t4g.small): 730 x 0.036                               => 26.28
#   ApiService/api (0.5 vCPU, 1024 MiB, 1 instance): 0.5 x 730 = 365 vCPU-h x 0.04048 = 14.7752
#     + 1 GB x 730 = 730 GB-h x 0.004445 = 3.24485 + ALB 730 x 0.0252 = 18.396         => 36.41605
#   BackgroundWorker/mailer (0.25 vCPU, 512 MiB, no ALB): 182.5 x 0.04048 = 7.3876
#     + 0.5 GB x 730 = 365 GB-h x 0.004445 = 1.622425                                  =>  9.010025
#   PubSub/events (SNS): publishes and deliveries only, usage-based                     =>  0
#   total 90.4762 + 5.75 + 270.68 + 0 + 26.28 + 36.41605 + 9.010025 + 0                 => 438.612275
# gcp (europe-west1)
#   web: 1460 x 0.0648 = 94.608 + 2920 GiB-h x 0.0072 = 21.024                          => 115.632
#   assets: 250 x 0.020                                                                 =>   5.00
#   orders (db-custom-2-8192, HA doubles): 1460 x 0.1386 = 202.356 + 200 x 0.17 = 34   => 236.356
#   jobs: usage-based only                                                              =>   0
#   sessions (2 GB basic): 2 x 730 = 1460 GB-h x 0.049                                  =>  71.54
#   api: 365 x 0.0648 = 23.652 + 730 GiB-h x 0.0072 = 5.256                             =>  28.908
#   mailer: 182.5 x 0.0648 = 11.826 + 365 x 0.0072 = 2.628                              =>  14.454
#   events: usage-based only                                                            =>   0
#   total 428.528 (the five above) + 28.908 + 14.454                                    => 471.89
# azure (westeurope)
#   web: 1460 x 0.0864 = 126.144 + 2920 x 0.0108 = 31.536                               => 157.68
#   assets (Hot): 250 x 0.0196                                                          =>   4.90
#   orders (GP_Standard_D2s_v3): 1460 x 0.196 = 286.16 + 200 x 0.131 = 26.20            => 312.36
#   jobs (Service Bus Standard base): 730 x 0.0135                                      =>   9.855
#   sessions (C1 basic): 730 x 0.055                                                    =>  40.15
#   api: 365 x 0.0864 = 31.536 + 730 x 0.0108 = 7.884                                   =>  39.42
#   mailer: 182.5 x 0.0864 = 15.768 + 365 x 0.0108 = 3.942                              =>  19.71
#   events (Service Bus Standard base, a namespace of its own): 730 x 0.0135            =>   9.855
#   total 524.945 (the five above) + 39.42 + 19.71 + 9.855                              => 593.93
# cheapest per resource: web aws, assets azure, orders gcp, jobs aws (0 = 0: the first in aws,
# gcp, azure order), sessions aws, api gcp, mailer aws, events aws (0 = 0); overall aws.
"$CRATIS" cost -f "$P" --env production -o json >"$T/cost.json" 2>"$T/cost.err"
expect_rc "cost -o json" 0 $?
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
check "aws total 438.612275 (hand computed)" test "$(jq_ "$T/cost.json" "d['comparison']['totalMonthlyCost']['aws']")" = 438.612275
check "gcp total 471.89 (hand computed)" test "$(jq_ "$T/cost.json" "d['comparison']['totalMonthlyCost']['gcp']")" = 471.89
check "azure total 593.93 (hand computed)" test "$(jq_ "$T/cost.json" "d['comparison']['totalMonthlyCost']['azure']")" = 593.93
check "cheapest overall aws" test "$(jq_ "$T/cost.json" "d['comparison']['cheapestProvider']")" = aws
check "cheapest per resource" test "$(jq_ "$T/cost.json" "' '.join(r['name']+'='+r['cheapestProvider'] for r in d['comparison']['resources'])")" = \
	"ApiService/api=gcp BackgroundWorker/mailer=aws Cache/sessions=aws MessageQueue/jobs=aws ObjectStorage/assets=azure PubSub/events=aws RelationalDatabase/orders=gcp WebApplication/web=aws"
check "regions: the Environment's for aws, the defaults elsewhere" test "$(jq_ "$T/cost.json" "' '.join(p['metadata']['region'] for p in d['projects'])")" = \
	"eu-west-1 europe-west1 westeurope"
check "per-resource cost: orders on aws 270.68" test "$(jq_ "$T/cost.json" "[r for r in d['projects'][0]['breakdown']['resources'] if r['name']=='RelationalDatabase/orders'][0]['monthlyCost']")" = 270.68
check "a component in Infracost's names" test "$(jq_ "$T/cost.json" "sorted([r for r in d['projects'][0]['breakdown']['resources'] if r['name']=='RelationalDatabase/orders'][0]['costComponents'][0].items())")" = \
	"[('monthlyCost', '245.28'), ('monthlyQuantity', '1460'), ('name', 'Database instance'), ('price', '0.168'), ('priceNotFound', False), ('unit', 'hours'), ('usageBased', False)]"
check "usage-based without usage: quantity and cost null" test "$(jq_ "$T/cost.json" "[(c['usageBased'], c['monthlyQuantity'], c['monthlyCost']) for c in [r for r in d['projects'][0]['breakdown']['resources'] if r['name']=='MessageQueue/jobs'][0]['costComponents']]")" = \
	"[(True, None, None)]"
check "price sources recorded" test "$(jq_ "$T/cost.json" "'https://aws.amazon.com/rds/postgresql/pricing/ (2026-12-01)' in d['projects'][0]['metadata']['priceSources']")" = True
check "cost reads no state: nothing created" test ! -e "$T/state"

"$CRATIS" cost -f "$P" --env production >"$T/cost.txt" 2>&1
expect_rc "cost as a table" 0 $?
expect_in "table: the totals side by side" "TOTAL                                        438.61         471.89         593.93  aws" "$T/cost.txt"
expect_in "table: a component line" "Database instance                                      1460 hours  x 0.168            245.28" "$T/cost.txt"
expect_in "table: a usage-based component" "Requests                                 usage-based: 0.40 USD per 1M requests (no usage given)" "$T/cost.txt"
expect_in "table: cheapest overall" "Cheapest overall: aws" "$T/cost.txt"
"$CRATIS" cost -f "$P" --env production --provider gcp,azure -o json >"$T/two.json"
check "--provider gcp,azure prices those two" test "$(jq_ "$T/two.json" "' '.join(p['name'] for p in d['projects'])")" = "gcp azure"
check "... and compares them" test "$(jq_ "$T/two.json" "d['comparison']['cheapestProvider']")" = gcp
"$CRATIS" cost -f "$P" --env production --provider aws,oracle >/dev/null 2>"$T/badp.err"
expect_rc "an unknown provider" 1 $?
expect_in "names it" "--provider: unknown provider 'oracle'" "$T/badp.err"

# A usage file (Infracost's shape) changes the usage-based components only:
#   aws: web LCU 1000 x 0.008 = 8.00; jobs 3,000,000 requests = 3 x 0.40 = 1.20; assets egress (type
#        default) 100 GB x 0.09 = 9.00 => 438.612275 + 18.20 = 456.812275
#   gcp: web 50,000,000 requests = 50 x 0.40 = 20.00; assets egress 100 x 0.12 = 12.00 => 471.89 + 32 = 503.89
#   azure: web requests 20.00; assets egress 100 x 0.087 = 8.70 => 593.93 + 28.70 = 622.63
cat >"$T/usage.yml" <<'YAML'
version: 0.1
resource_usage:
  WebApplication/web:
    monthly_lcu_hours: 1000
    monthly_requests: 50000000
  MessageQueue/jobs:
    monthly_requests: 3000000
resource_type_default_usage:
  ObjectStorage:
    monthly_egress_gb: 100
YAML
"$CRATIS" cost -f "$P" --env production --usage "$T/usage.yml" -o json >"$T/usage.json" 2>"$T/usage.err"
expect_rc "cost --usage" 0 $?
check "with usage: aws 456.812275" test "$(jq_ "$T/usage.json" "d['comparison']['totalMonthlyCost']['aws']")" = 456.812275
check "with usage: gcp 503.89" test "$(jq_ "$T/usage.json" "d['comparison']['totalMonthlyCost']['gcp']")" = 503.89
check "with usage: azure 622.63" test "$(jq_ "$T/usage.json" "d['comparison']['totalMonthlyCost']['azure']")" = 622.63
cat >"$T/cmp.py" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
changed, same = 0, 0
for pa, pb in zip(a['projects'], b['projects']):
    for ra, rb in zip(pa['breakdown']['resources'], pb['breakdown']['resources']):
        for ca, cb in zip(ra['costComponents'], rb['costComponents']):
            if ca != cb:
                assert ca['usageBased'], ('a component that is not usage-based changed', ca, cb)
                changed += 1
            elif not ca['usageBased']:
                same += 1
print(changed, same)
PY
# fixed components: 20 for the first five resources, + aws api 3 and mailer 2, gcp api 2 and mailer 2,
# azure api 2, mailer 2 and events 1 = 34
check "only usage-based components change (the 7 with usage given; all 34 fixed ones the same)" test "$(python3 "$T/cmp.py" "$T/cost.json" "$T/usage.json")" = "7 34"
printf 'resource_usage:\n  WebApplication/web: {monthly_requests: [1]}\n' >"$T/bad-usage.yml"
"$CRATIS" cost -f "$P" --env production --usage "$T/bad-usage.yml" >/dev/null 2>"$T/bad-usage.err"
expect_rc "a malformed usage file" 1 $?
expect_in "located" "bad-usage.yml:2:24: resource_usage.WebApplication/web.monthly_requests: expected a number, found a sequence" "$T/bad-usage.err"

# --diff: the manifests against the specs state records. State holds the database as medium and
# the web application as it is; the manifests now say large (db.m6g.2xlarge):
#   orders was 270.68; now 1460 x 0.672 = 981.12 + 25.40 = 1006.52 => +735.84
#   web 90.4762 -> 90.4762 => 0; sessions, assets, jobs, api, mailer, events are not recorded: + their cost
#   past 270.68 + 90.4762 = 361.1562; now 438.612275 - 270.68 + 1006.52 = 1174.452275 => +813.296075
"$CRATIS" cost -f "$P" --env production --diff >/dev/null 2>&1   # creates the store
sqlite3 "$T/state/state.db" "INSERT INTO resources (project, environment, id, api_version, spec, status, updated) VALUES
  ('shop', 'production', 'RelationalDatabase/orders', 'database.capabilities/v1', '{\"version\":\"16\",\"tier\":\"medium\",\"storageGb\":100,\"highAvailability\":true}', 'ready', '2026-12-01T00:00:00Z'),
  ('shop', 'production', 'WebApplication/web', 'core.capabilities/v1', '{\"image\":\"ghcr.io/acme/shop:1.4.2\",\"cpu\":1,\"memory\":2048,\"instances\":2,\"port\":8080}', 'ready', '2026-12-01T00:00:00Z')"
check "state rows recorded" test $? = 0
sed -i 's/  tier: medium/  tier: large/' "$P/shop.yaml"
"$CRATIS" cost -f "$P" --env production --diff >"$T/diff.txt" 2>"$T/diff.err"
expect_rc "cost --diff" 0 $?
expect_in "diff: the database changes by +735.84" "~ RelationalDatabase/orders                  270.68 -> 1,006.52     +735.84" "$T/diff.txt"
expect_in "diff: the web application does not change" "  WebApplication/web                          90.48 -> 90.48        0.00" "$T/diff.txt"
expect_in "diff: a resource state does not record is added" "+ Cache/sessions                             (none) -> 26.28        +26.28" "$T/diff.txt"
expect_in "diff: the total change" "Monthly cost change: +813.30 (from 361.16 to 1,174.45)" "$T/diff.txt"
expect_in "diff: on the Environment's provider" "on aws (eu-west-1)" "$T/diff.txt"
"$CRATIS" cost -f "$P" --env production --diff -o json >"$T/diff.json"
check "diff json: diffTotalMonthlyCost 813.296075" test "$(jq_ "$T/diff.json" "d['projects'][0]['diffTotalMonthlyCost']")" = 813.296075
check "diff json: orders delta 735.84" test "$(jq_ "$T/diff.json" "[r['monthlyCostDelta'] for r in d['projects'][0]['diff']['resources'] if r['name']=='RelationalDatabase/orders'][0]")" = 735.84
check "diff json: past total 361.1562" test "$(jq_ "$T/diff.json" "d['projects'][0]['pastTotalMonthlyCost']")" = 361.1562
sed -i 's/  tier: large/  tier: medium/' "$P/shop.yaml"

# Every price table records its source and date: the five plugins' cost models on each provider
# list a source URL and the date the prices were read; a date in another form, a source that is
# not a URL, or none, is refused at its location in the cost model.
check "each provider: 5 price sources, each a URL with a date" test "$(jq_ "$T/cost.json" "' '.join(str(len([s for s in p['metadata']['priceSources'] if __import__('re').fullmatch(r'https://\\S+.* \\(\\d{4}-\\d{2}-\\d{2}\\)', s)])) for p in d['projects'])")" = "5 5 5"
mkdir -p "$T/caps"
cp -r "$SRC/plugins/cache" "$T/caps/cache"
sed -i 's/^date: "2026-12-01"/date: "December 2026"/' "$T/caps/cache/cost_models/gcp.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" cost -f "$P" --env production >/dev/null 2>"$T/date.err"
expect_rc "a price date not YYYY-MM-DD" 1 $?
check "one error for the file (not one per kind)" test "$(grep -c "^error:" "$T/date.err")" = 1
expect_in "located, once" "caps/cache/cost_models/gcp.yaml:8:8: date: expected the date the prices were read, as YYYY-MM-DD, found 'December 2026'" "$T/date.err"
sed -i '/^date:/d' "$T/caps/cache/cost_models/gcp.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" cost -f "$P" --env production >/dev/null 2>"$T/nodate.err"
expect_rc "a price table without a date" 1 $?
expect_in "is refused" "kinds.Cache: expected the prices' source (URL) and date, in the file or the kind" "$T/nodate.err"
rm -rf "$T/caps/cache"

# A formula that fails is an error at the cost model's file:line:col, naming the resource.
cp -r "$SRC/plugins/core" "$T/caps/core"
sed -i '0,/quantity: config.cpu \* config.instances \* hours/s||quantity: os.exit(1)|' "$T/caps/core/cost_models/aws.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" cost -f "$P" --env production --provider aws >"$T/f.out" 2>"$T/f.err"
expect_rc "a failing formula" 1 $?
expect_in "located at the YAML line, os unavailable" "caps/core/cost_models/aws.yaml:13:19: kinds.WebApplication.components[0].quantity: WebApplication 'Fargate vCPU' of WebApplication/web: formula:1: attempt to index a nil value (global 'os')" "$T/f.err"
sed -i 's|quantity: os.exit(1)|quantity: "(function() while true do end end)()"|' "$T/caps/core/cost_models/aws.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" cost -f "$P" --env production --provider aws >"$T/f.out" 2>"$T/f2.err"
expect_rc "a runaway formula is stopped" 1 $?
expect_in "by the instruction limit" "formula ran more than 1000000 instructions" "$T/f2.err"
sed -i 's|quantity: "(function() while true do end end)()"|quantity: config.cpu * (|' "$T/caps/core/cost_models/aws.yaml"
CRATIS_CAPABILITY_PATH="$T/caps" "$CRATIS" cost -f "$P" --env production --provider aws >"$T/f.out" 2>"$T/f3.err"
expect_rc "a formula that does not compile" 1 $?
expect_in "is located" "aws.yaml:13:19: kinds.WebApplication.components[0].quantity: the formula does not compile" "$T/f3.err"

# Lock-in: a provider option draws the same warning in render, plan and cost; --deny-lock-in
# makes it an error (exit 1) in each.
cat >"$P/versioned.yaml" <<'YAML'
apiVersion: storage.capabilities/v1
kind: ObjectStorage
metadata: {name: audit}
spec:
  providerOptions:
    aws: {versioning: true}
YAML
W="warning: $P/versioned.yaml:6:23: spec.providerOptions.aws.versioning: ObjectStorage/audit uses the aws-only feature 'versioning' (keep every version of every object (S3 versioning)): it ties this resource to aws"
"$CRATIS" render -f "$P" --env production -o "$T/r" >/dev/null 2>"$T/lr.err"
expect_rc "render warns" 0 $?
expect_in "render's warning" "$W" "$T/lr.err"
"$CRATIS" plan -f "$P" --env production >"$T/lp.out" 2>"$T/lp.err"
expect_rc "plan warns" 0 $?
expect_in "plan: the same warning" "$W" "$T/lp.err"
expect_in "plan: with the alternative" "hint: portable alternative: spec.retentionDays" "$T/lp.err"
"$CRATIS" cost -f "$P" --env production >/dev/null 2>"$T/lc.err"
expect_rc "cost warns" 0 $?
expect_in "cost: the same warning" "$W" "$T/lc.err"
check "render, plan and cost print the same lock-in lines" test "$(grep -A1 '^warning:' "$T/lr.err")" = "$(grep -A1 '^warning:' "$T/lp.err")" -a \
	"$(grep -A1 '^warning:' "$T/lr.err")" = "$(grep -A1 '^warning:' "$T/lc.err")"
"$CRATIS" cost -f "$P" --env production --provider gcp,azure >/dev/null 2>"$T/lg.err"
expect_rc "cost off aws" 0 $?
expect_not_in "no aws lock-in warning when aws is not priced" "aws-only" "$T/lg.err"
"$CRATIS" plan -f "$P" --env production --deny-lock-in >"$T/dp.out" 2>"$T/dp.err"
expect_rc "plan --deny-lock-in" 1 $?
expect_in "plan: the warning is an error" "error: $P/versioned.yaml:6:23: spec.providerOptions.aws.versioning: ObjectStorage/audit uses the aws-only feature" "$T/dp.err"
"$CRATIS" cost -f "$P" --env production --deny-lock-in >"$T/dc.out" 2>"$T/dc.err"
expect_rc "cost --deny-lock-in" 1 $?
expect_in "cost: the warning is an error" "error: $P/versioned.yaml:6:23: spec.providerOptions.aws.versioning" "$T/dc.err"
check "cost --deny-lock-in prints no estimate" test ! -s "$T/dc.out"
"$CRATIS" cost -f "$P" --env production --provider gcp --deny-lock-in >/dev/null 2>&1
expect_rc "cost --deny-lock-in off aws passes" 0 $?
rm "$P/versioned.yaml"
"$CRATIS" plan -f "$P" --env production --deny-lock-in >/dev/null 2>"$T/np.err"
expect_rc "plan --deny-lock-in without provider options" 0 $?

finish
