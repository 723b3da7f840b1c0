from google.cloud import bigquery, storage as gcs_storage
from azure.storage.blob import (
    ContainerClient,
    BlobClient,
)

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob('d').upload_from_filename('s')
print(bigquery, ContainerClient, BlobClient)
