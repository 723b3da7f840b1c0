import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)

_azure_upload_file('b', 'local.txt', 'remote.txt')
everything = [_blob.name for _blob in _blob_service.get_container_client('b').list_blobs(name_starts_with='')]
some = [_blob.name for _blob in _blob_service.get_container_client('b').list_blobs(name_starts_with='logs/')]
named = [_blob.name for _blob in _blob_service.get_container_client('b').list_blobs(name_starts_with='logs/')]
_blob_service.get_blob_client('b', 'remote.txt').delete_blob()
