from google.cloud import bigquery
from azure.storage.blob import (
    ContainerClient,
    BlobClient,
)
import infrar.storage

infrar.storage.upload('b', 's', 'd')
print(bigquery, ContainerClient, BlobClient)
