"""Example app for the storage proof (tests/transform/aws_s3rver.sh): upload a file, list,
download and compare, delete, list again. Runs through the infrar SDK as it is, or after
`cratis transform` against the provider's own library; prints the same lines either way."""
import hashlib
import os
import sys

from infrar import storage
from infrar.storage import upload as up, list_objects


def main(bucket, workdir):
    source = os.path.join(workdir, 'payload.bin')
    with open(source, 'wb') as f:
        f.write(os.urandom(200000) + b'end')
    up(bucket, source,
       'data/payload.bin')
    keys = list_objects(bucket=bucket, prefix='data/')
    print('listed', keys)
    if 'data/payload.bin' not in keys:
        sys.exit('upload: object missing from the listing')
    copy = os.path.join(workdir, 'copy.bin')
    storage.download(bucket=bucket, source='data/payload.bin', destination=copy)
    with open(source, 'rb') as a, open(copy, 'rb') as b:
        same = hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()
    print('downloaded bytes equal uploaded bytes:', same)
    if not same:
        sys.exit('download: bytes differ')
    for key in list_objects(bucket):
        storage.delete(bucket, key)
    print('after delete', list_objects(bucket))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
