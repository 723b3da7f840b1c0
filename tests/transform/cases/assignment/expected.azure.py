import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_download_file(container, blob, path):
    with open(path, 'wb') as data:
        _blob_service.get_blob_client(container, blob).download_blob().readinto(data)

files = [_blob.name for _blob in _blob_service.get_container_client('my-bucket').list_blobs(name_starts_with='data/')]
count = len([_blob.name for _blob in _blob_service.get_container_client('my-bucket').list_blobs(name_starts_with='')]) + 1
first, *rest = [_blob.name for _blob in _blob_service.get_container_client('my-bucket').list_blobs(name_starts_with='')] or ['none']
ok = _azure_download_file('b', 'k', 'p') is None
print(files, count, first, rest, ok)
