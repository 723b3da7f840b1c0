import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.upload_file('local.txt', 'my-bucket', 'remote.txt')
_s3_client.download_file('my-bucket', 'remote.txt', 'local.txt')
