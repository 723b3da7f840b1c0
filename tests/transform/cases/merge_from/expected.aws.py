from google.cloud import bigquery
from azure.storage.blob import (
    ContainerClient,
    BlobClient,
)
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

_s3_client.upload_file('s', 'b', 'd')
print(bigquery, ContainerClient, BlobClient)
