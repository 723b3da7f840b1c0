#!/usr/bin/env python3
# import infrar.storage and call through the full dotted name
import json
import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)


def save(report):
    with open('report.json', 'w') as f:
        json.dump(report, f)  # unchanged
    _azure_upload_file('reports', 'report.json', 'daily/report.json')
