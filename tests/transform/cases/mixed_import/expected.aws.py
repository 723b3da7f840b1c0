import os, sys
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.delete_object(Bucket='b', Key=os.path.join(sys.prefix, 'x'))
