import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

files = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='my-bucket', Prefix='data/') for _obj in _page.get('Contents', [])]
count = len([_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='my-bucket', Prefix='') for _obj in _page.get('Contents', [])]) + 1
first, *rest = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='my-bucket', Prefix='') for _obj in _page.get('Contents', [])] or ['none']
ok = _s3_client.download_file('b', 'k', 'p') is None
print(files, count, first, rest, ok)
