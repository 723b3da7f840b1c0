pass; x = 1
import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

if x: pass
_blob_service.get_blob_client("b", "p").delete_blob(); _blob_service.get_blob_client("b", "q").delete_blob()
