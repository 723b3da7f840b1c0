import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.upload_file('local.txt', 'my-bucket', 'remote.txt')
keys = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='my-bucket', Prefix=('a' +
                           'b')) for _obj in _page.get('Contents', [])]
_s3_client.upload_file(('x'
             'y'), 'b', 'z')
