from infrar.aws.s3 import enable_versioning
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.upload_file('file.txt', 'data', 'file.txt')
enable_versioning(bucket='data')
