#!/bin/sh
# Proof of the Azure storage rules (issue 16): tests/transform/app/storage_app.py transformed for
# azure runs with Debian's python3-azure (azure.storage.blob) against Azurite's blob service (npm,
# installed by scripts/setup.sh into build-tools/azurite) on a free loopback port in a temporary
# directory, started and stopped here: upload, list, download (bytes equal), delete. The same app
# run untransformed through the SDK (sdk/python, INFRAR_PROVIDER=azure) prints the same lines.
. "$(dirname "$0")/../e2e/lib.sh"
azurite="$SRC/build-tools/azurite/node_modules/azurite/dist/src/blob/main.js"
# Debian's python3-azure lives in /usr/bin/python3's packages; a python3 earlier on PATH (pyenv,
# a venv) may not see it
PY=""
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import azure.storage.blob' 2>/dev/null; then PY=$py; break; fi
done
if [ ! -f "$azurite" ] || [ -z "$PY" ]; then
	fail "Azurite or python3-azure missing: run sh scripts/setup.sh"
	finish
	exit 1
fi
port=$(free_port)
mkdir -p "$T/azurite" "$T/work" "$T/build"
# --disableTelemetry: Azurite 3.35 otherwise sends usage data to Application Insights
node "$azurite" --blobHost 127.0.0.1 --blobPort "$port" --location "$T/azurite" --silent \
	--disableTelemetry --skipApiVersionCheck >"$T/azurite.log" 2>&1 &
azpid=$!
stop_azurite() { kill "$azpid" 2>/dev/null; wait "$azpid" 2>/dev/null; }
cleanup_hooks="$cleanup_hooks stop_azurite"
if wait_for 30 sh -c "curl -s -o /dev/null http://127.0.0.1:$port/devstoreaccount1?comp=list"; then
	ok "Azurite answers on 127.0.0.1:$port"
else
	fail "Azurite did not start"; cat "$T/azurite.log"; finish; exit 1
fi
# Azurite's well-known development account (documented by Microsoft; not a secret)
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
# the container the app uses (the s3rver proof's --configure-bucket)
"$PY" -c 'import os; from azure.storage.blob import BlobServiceClient as B
B.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"]).create_container("proof")' >"$T/mk.out" 2>&1
expect_rc "create the container proof" 0 $?

"$CRATIS" transform --provider azure -i "$SRC/tests/transform/app" -o "$T/build" >"$T/transform.out" 2>&1
expect_rc "transform the app for azure" 0 $?
check "the transformed app imports no infrar module" sh -c "! grep -Eq '^ *(import|from) infrar' '$T/build/storage_app.py'"
expect_in "the transformed app uses azure.storage.blob" "from azure.storage.blob import BlobServiceClient" "$T/build/storage_app.py"
expect_in "requirements.txt names azure-storage-blob" "azure-storage-blob>=12.14" "$T/build/requirements.txt"
(cd "$T" && env -u PYTHONPATH "$PY" "$T/build/storage_app.py" proof "$T/work") >"$T/transformed.out" 2>&1
expect_rc "the transformed app runs against Azurite" 0 $?
cat "$T/transformed.out"
expect_in "upload then list finds the object" "listed ['data/payload.bin']" "$T/transformed.out"
expect_in "downloaded bytes equal uploaded bytes" "downloaded bytes equal uploaded bytes: True" "$T/transformed.out"
expect_in "delete empties the container" "after delete []" "$T/transformed.out"
# Azurite itself, asked by the Azure library directly: the container is there and empty
"$PY" -c 'import os; from azure.storage.blob import BlobServiceClient as B
c = B.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"]).get_container_client("proof")
print("blobs", [b.name for b in c.list_blobs()])' >"$T/left.out" 2>&1
expect_in "Azurite holds no blob after the delete" "blobs []" "$T/left.out"

(cd "$T" && PYTHONPATH="$SRC/sdk/python" INFRAR_PROVIDER=azure "$PY" "$SRC/tests/transform/app/storage_app.py" proof "$T/work") >"$T/sdk.out" 2>&1
expect_rc "the untransformed app runs through the SDK" 0 $?
check "the SDK run prints what the transformed run printed" cmp -s "$T/sdk.out" "$T/transformed.out"
# the transformed app fails, as the SDK does, when the container does not exist
(cd "$T" && env -u PYTHONPATH "$PY" "$T/build/storage_app.py" nosuchcontainer "$T/work") >"$T/missing.out" 2>&1
check "the transformed app fails on a missing container" test $? -ne 0
expect_in "with Azure's own error" "ContainerNotFound" "$T/missing.out"
finish
