import os
import boto3
from google.cloud import storage as gcs_storage
from azure.storage.blob import BlobServiceClient

_gcs_client = gcs_storage.Client()

print(os.getcwd(), boto3, gcs_storage, BlobServiceClient)
_gcs_client.bucket('b').blob('d').upload_from_filename('s')
