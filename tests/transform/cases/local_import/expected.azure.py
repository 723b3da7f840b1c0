"""Imports inside functions and blocks."""
import logging
import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)

def _azure_download_file(container, blob, path):
    with open(path, 'wb') as data:
        _blob_service.get_blob_client(container, blob).download_blob().readinto(data)

log = logging.getLogger(__name__)


def push(path):
    log.info('pushing %s', path)
    _azure_upload_file('b', path, path)


def pull(path):
    return _azure_download_file('b', path, path)


try:
    pass
except ImportError:
    raise
