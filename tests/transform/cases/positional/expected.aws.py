import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.upload_file('local.txt', 'b', 'remote.txt')
everything = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='b', Prefix='') for _obj in _page.get('Contents', [])]
some = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='b', Prefix='logs/') for _obj in _page.get('Contents', [])]
named = [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket='b', Prefix='logs/') for _obj in _page.get('Contents', [])]
_s3_client.delete_object(Bucket='b', Key='remote.txt')
