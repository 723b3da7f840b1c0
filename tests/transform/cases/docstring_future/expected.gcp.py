"""A module with only a docstring and a future import before its code."""
from __future__ import annotations
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()


def handler(event: dict) -> list[str]:
    return [_blob.name for _blob in _gcs_client.list_blobs(event['bucket'], prefix='')]
