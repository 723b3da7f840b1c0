#!/bin/sh
# Provider-specific SDK modules (docs/transform.md): `from infrar.aws.s3 import enable_versioning`
# is kept by the transform with a lock-in warning naming file:line and aws, so the SDK package
# provides it: the transformed file runs with sdk/python on its path, and enable_versioning makes
# the real S3 request (botocore's Stubber checks the call against boto3's S3 model and answers it;
# s3rver does not implement versioning).
. "$(dirname "$0")/../e2e/lib.sh"
PY=""
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import boto3, botocore.stub' 2>/dev/null; then PY=$py; break; fi
done
if [ -z "$PY" ]; then
	fail "python3-boto3 missing: run sh scripts/setup.sh"
	finish
	exit 1
fi
mkdir -p "$T/build"
cat >"$T/app.py" <<'APP'
from infrar.aws.s3 import enable_versioning
from infrar.storage import list_objects


def setup(bucket):
    enable_versioning(bucket)
    return list_objects(bucket)
APP
"$CRATIS" transform --provider aws -i "$T/app.py" -o "$T/build/app.py" >/dev/null 2>"$T/err"
expect_rc "transform keeps the aws-only call" 0 $?
expect_in "the lock-in warning names file:line and the provider" \
	"warning: $T/app.py:1:27: 'infrar.aws.s3.enable_versioning' is specific to aws and is kept" "$T/err"
expect_in "the import is kept" "from infrar.aws.s3 import enable_versioning" "$T/build/app.py"
expect_not_in "the portable import is not" "from infrar.storage" "$T/build/app.py"
cat >"$T/run.py" <<'RUN'
import sys
import botocore.exceptions
import botocore.stub
sys.path.insert(0, sys.argv[1])
import app
from infrar.aws import s3
from infrar.storage import StorageError
# the transformed module's client and the SDK's, each answered by a Stubber (no network)
stub_app = botocore.stub.Stubber(app._s3_client)
stub_app.add_response('list_objects_v2', {'Contents': [{'Key': 'a.txt'}], 'IsTruncated': False},
                      {'Bucket': 'audit', 'Prefix': ''})
stub_sdk = botocore.stub.Stubber(s3._s3())
stub_sdk.add_response('put_bucket_versioning', {},
                      {'Bucket': 'audit', 'VersioningConfiguration': {'Status': 'Enabled'}})
stub_sdk.add_client_error('put_bucket_versioning', 'NoSuchBucket', 'The specified bucket does not exist')
with stub_app, stub_sdk:
    print('listed', app.setup('audit'))
    try:
        s3.enable_versioning('missing')
    except StorageError as e:
        print('error', isinstance(e.__cause__, botocore.exceptions.ClientError), 'NoSuchBucket' in str(e))
    stub_app.assert_no_pending_responses()
    stub_sdk.assert_no_pending_responses()
print('done')
RUN
(cd "$T" && PYTHONPATH="$SRC/sdk/python" AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$PY" "$T/run.py" "$T/build") >"$T/out" 2>&1
expect_rc "the transformed file runs with the SDK's infrar.aws.s3" 0 $?
cat "$T/out"
expect_in "enable_versioning made the S3 request, then the transformed list_objects ran" "listed ['a.txt']" "$T/out"
expect_in "an S3 failure is a StorageError caused by botocore's" "error True True" "$T/out"
expect_in "every stubbed request was made" "done" "$T/out"
"$CRATIS" transform --provider aws --deny-lock-in -i "$T/app.py" >/dev/null 2>"$T/deny"
expect_rc "--deny-lock-in refuses it" 1 $?
expect_in "as an error" "error: $T/app.py:1:27:" "$T/deny"
finish
