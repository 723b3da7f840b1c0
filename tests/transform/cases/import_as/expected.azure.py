import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)

def _azure_download_file(container, blob, path):
    with open(path, 'wb') as data:
        _blob_service.get_blob_client(container, blob).download_blob().readinto(data)

_azure_upload_file('b', 'local.txt', 'remote.txt')
_azure_download_file('b', 'remote.txt', 'copy.txt')
for name in [_blob.name for _blob in _blob_service.get_container_client('b').list_blobs(name_starts_with='')]:
    _blob_service.get_blob_client('b', name).delete_blob()
