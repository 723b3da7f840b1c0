import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_download_file(container, blob, path):
    with open(path, 'wb') as data:
        _blob_service.get_blob_client(container, blob).download_blob().readinto(data)


def sync(bucket):
    for key in [_blob.name for _blob in _blob_service.get_container_client(bucket).list_blobs(name_starts_with='in/')]:
        _azure_download_file(bucket, key, ('/tmp/' + key.replace('/', '_')))
