"""A module with only a docstring and a future import before its code."""
from __future__ import annotations
import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])


def handler(event: dict) -> list[str]:
    return [_blob.name for _blob in _blob_service.get_container_client(event['bucket']).list_blobs(name_starts_with='')]
