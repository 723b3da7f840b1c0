"""S3-only features: ``enable_versioning``. Failures raise infrar.storage.StorageError with the
provider's exception as the cause."""
import os

from infrar.storage import StorageError

__all__ = ["enable_versioning"]

_clients = {}


def _s3():
    if "s3" not in _clients:
        import boto3
        _clients["s3"] = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    return _clients["s3"]


def enable_versioning(bucket):
    """Turn on S3 versioning of ``bucket``: every version of every object is kept."""
    try:
        _s3().put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    except Exception as e:  # botocore raises its own types
        raise StorageError("aws: %s" % e) from e
