import os
import boto3
from google.cloud import storage as gcs_storage
from azure.storage.blob import BlobServiceClient

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

print(os.getcwd(), boto3, gcs_storage, BlobServiceClient)
_s3_client.upload_file('s', 'b', 'd')
