"""Cloud Storage-only features: ``enable_versioning``. Failures raise
infrar.storage.StorageError with the provider's exception as the cause."""
from infrar.storage import StorageError

__all__ = ["enable_versioning"]

_clients = {}


def _gcs():
    if "gcs" not in _clients:
        from google.cloud import storage as gcs_storage
        _clients["gcs"] = gcs_storage.Client()
    return _clients["gcs"]


def enable_versioning(bucket):
    """Turn on object versioning of ``bucket`` (noncurrent versions are kept)."""
    try:
        b = _gcs().bucket(bucket)
        b.versioning_enabled = True
        b.patch()
    except Exception as e:  # google.api_core raises its own types
        raise StorageError("gcp: %s" % e) from e
