from google.cloud import bigquery
from azure.storage.blob import (
    ContainerClient,
    BlobClient, BlobServiceClient,
)
import os

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)

_azure_upload_file('b', 's', 'd')
print(bigquery, ContainerClient, BlobClient)
