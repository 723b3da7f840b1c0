pass; x = 1
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

if x: pass
_s3_client.delete_object(Bucket="b", Key="p"); _s3_client.delete_object(Bucket="b", Key="q")
