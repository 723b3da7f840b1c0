#!/bin/sh
# Proof of the AWS storage rules (issue 16): tests/transform/app/storage_app.py transformed for
# aws runs with Debian's python3-boto3 against s3rver (npm; scripts/setup.sh installs both) on a
# free loopback port, started and stopped here: upload, list, download (bytes equal), delete.
# The same app run untransformed through the SDK (sdk/python, INFRAR_PROVIDER=aws) prints the
# same lines.
. "$(dirname "$0")/../e2e/lib.sh"
s3rver="$SRC/build-tools/s3rver/node_modules/s3rver/bin/s3rver.js"
if [ ! -f "$s3rver" ] || ! python3 -c 'import boto3' 2>/dev/null; then
	fail "s3rver or python3-boto3 missing: run sh scripts/setup.sh"
	finish
	exit 1
fi
port=$(free_port)
mkdir -p "$T/s3" "$T/work" "$T/build"
node "$s3rver" -d "$T/s3" -a 127.0.0.1 -p "$port" --silent --configure-bucket proof >"$T/s3rver.log" 2>&1 &
s3pid=$!
stop_s3rver() { kill "$s3pid" 2>/dev/null; wait "$s3pid" 2>/dev/null; }
cleanup_hooks="$cleanup_hooks stop_s3rver"
if wait_for 20 sh -c "curl -s -o /dev/null http://127.0.0.1:$port/"; then ok "s3rver answers on 127.0.0.1:$port"; else
	fail "s3rver did not start"; cat "$T/s3rver.log"; finish; exit 1; fi
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
	AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

"$CRATIS" transform --provider aws -i "$SRC/tests/transform/app" -o "$T/build" >"$T/transform.out" 2>&1
expect_rc "transform the app for aws" 0 $?
check "the transformed app imports no infrar module" sh -c "! grep -Eq '^ *(import|from) infrar' '$T/build/storage_app.py'"
expect_in "the transformed app uses boto3" "import boto3" "$T/build/storage_app.py"
expect_in "requirements.txt names boto3" "boto3>=1.26" "$T/build/requirements.txt"
(cd "$T" && env -u PYTHONPATH python3 "$T/build/storage_app.py" proof "$T/work") >"$T/transformed.out" 2>&1
expect_rc "the transformed app runs against s3rver" 0 $?
cat "$T/transformed.out"
expect_in "upload then list finds the object" "listed ['data/payload.bin']" "$T/transformed.out"
expect_in "downloaded bytes equal uploaded bytes" "downloaded bytes equal uploaded bytes: True" "$T/transformed.out"
expect_in "delete empties the bucket" "after delete []" "$T/transformed.out"
check "the object is gone from s3rver's store too" sh -c "! find '$T/s3/proof' -type f -name '*payload*' | grep -q ."

(cd "$T" && PYTHONPATH="$SRC/sdk/python" INFRAR_PROVIDER=aws python3 "$SRC/tests/transform/app/storage_app.py" proof "$T/work") >"$T/sdk.out" 2>&1
expect_rc "the untransformed app runs through the SDK" 0 $?
check "the SDK run prints what the transformed run printed" cmp -s "$T/sdk.out" "$T/transformed.out"
(cd "$T" && PYTHONPATH="$SRC/sdk/python" INFRAR_PROVIDER=oracle python3 "$SRC/tests/transform/app/storage_app.py" proof "$T/work") >"$T/bad.out" 2>&1
expect_rc "the SDK refuses an unknown INFRAR_PROVIDER" 1 $?
expect_in "and names the variable" "INFRAR_PROVIDER must be one of aws, gcp, azure" "$T/bad.out"
finish
