import os
import boto3
from google.cloud import storage as gcs_storage
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)

print(os.getcwd(), boto3, gcs_storage, BlobServiceClient)
_azure_upload_file('b', 's', 'd')
