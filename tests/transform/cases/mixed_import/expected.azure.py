import os, sys
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

_blob_service.get_blob_client('b', os.path.join(sys.prefix, 'x')).delete_blob()
