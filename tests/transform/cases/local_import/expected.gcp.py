"""Imports inside functions and blocks."""
import logging
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

log = logging.getLogger(__name__)


def push(path):
    log.info('pushing %s', path)
    _gcs_client.bucket('b').blob(path).upload_from_filename(path)


def pull(path):
    return _gcs_client.bucket('b').blob(path).download_to_filename(path)


try:
    pass
except ImportError:
    raise
