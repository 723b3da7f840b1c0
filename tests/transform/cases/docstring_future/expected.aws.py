"""A module with only a docstring and a future import before its code."""
from __future__ import annotations
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))


def handler(event: dict) -> list[str]:
    return [_obj['Key'] for _page in _s3_client.get_paginator('list_objects_v2').paginate(Bucket=event['bucket'], Prefix='') for _obj in _page.get('Contents', [])]
