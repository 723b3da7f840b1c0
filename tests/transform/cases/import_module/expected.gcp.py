#!/usr/bin/env python3
# import infrar.storage and call through the full dotted name
import json
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()


def save(report):
    with open('report.json', 'w') as f:
        json.dump(report, f)  # unchanged
    _gcs_client.bucket('reports').blob('daily/report.json').upload_from_filename('report.json')
