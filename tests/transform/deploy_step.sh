#!/bin/sh
# The transform step of a deploy (docs/transform.md, "Running it before deploy"): a project whose
# Task runs `cratis transform --provider ${provider}` (the Environment's variable) on src/ into
# build/, and a Task that depends on it and uses the transformed code (compiles it and checks
# what it imports). `cratis apply` runs them in that order, for aws in one environment and azure
# in another; an SDK call the rules do not know fails the transform Task, so the dependent Task
# never runs and apply fails naming file:line:col.
. "$(dirname "$0")/../e2e/lib.sh"
P="$T/shop"
mkdir -p "$P/src"
cat >"$P/src/app.py" <<'APP'
from infrar.storage import upload


def publish(path):
    upload('site', path, 'index.html')
APP
printf 'flask==3.0.0\n' >"$P/src/requirements.txt"
cat >"$P/deploy.yaml" <<YAML
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  variables: {provider: aws}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: azure}
spec:
  variables: {provider: azure}
---
apiVersion: cratis/v1
kind: Project
metadata: {name: shop}
---
apiVersion: exec/v1
kind: Task
metadata: {name: transform}
spec:
  apply: ["$CRATIS", transform, --provider, "\${provider}", -i, src, -o, "build/\${provider}"]
---
apiVersion: exec/v1
kind: Task
metadata: {name: use}
spec:
  apply: [sh, -c, 'python3 -m py_compile "build/\$0/app.py" && grep -q "\$1" "build/\$0/app.py" && touch "used-\$0"', "\${provider}", "\${env:WANT}"]
  dependsOn: [Task/transform]
YAML
(cd "$P" && WANT="import boto3" "$CRATIS" apply --env production --auto-approve) >"$T/apply.out" 2>&1
expect_rc "apply, production (aws)" 0 $?
check "the transformed app is in build/aws" test -f "$P/build/aws/app.py"
expect_in "it calls boto3" "_s3_client.upload_file(" "$P/build/aws/app.py"
expect_in "requirements.txt keeps the app's own" "flask==3.0.0" "$P/build/aws/requirements.txt"
expect_in "and gets boto3" "boto3>=1.26" "$P/build/aws/requirements.txt"
check "the dependent Task ran on the transformed code" test -f "$P/used-aws"
check "src is untouched" grep -q "from infrar.storage import upload" "$P/src/app.py"
(cd "$P" && WANT="from azure.storage.blob import BlobServiceClient" "$CRATIS" apply --env azure --auto-approve) >"$T/apply2.out" 2>&1
expect_rc "apply, environment azure" 0 $?
check "the dependent Task ran on the azure code" test -f "$P/used-azure"
# a call the rules do not know: the transform fails, the Task that uses its output does not run
printf 'from infrar.storage import upload, frobnicate\nfrobnicate("x")\n' >"$P/src/bad.py"
rm -rf "$P/build" "$P/used-aws" "$P/.cratis"
(cd "$P" && WANT="import boto3" "$CRATIS" apply --env production --auto-approve) >"$T/apply3.out" 2>&1
check "apply fails when the transform does" test $? -ne 0
expect_in "naming file:line:col and the operation" "src/bad.py:1:36: unknown infrar operation 'infrar.storage.frobnicate'" "$T/apply3.out"
check "the dependent Task did not run" test ! -e "$P/used-aws"
finish
