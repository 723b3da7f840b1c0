import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))


def sync(bucket):
    for key in [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix='in/') for _obj in _page.get('Contents', [])]:
        _s3_client.download_file(bucket, key, ('/tmp/' + key.replace('/', '_')))
