"""Imports inside functions and blocks."""
import logging
import os
import boto3

_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))

log = logging.getLogger(__name__)


def push(path):
    log.info('pushing %s', path)
    _s3_client.upload_file(path, 'b', path)


def pull(path):
    return _s3_client.download_file('b', path, path)


try:
    pass
except ImportError:
    raise
