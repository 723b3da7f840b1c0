"""Object storage: upload, download, list_objects, delete on the provider of INFRAR_PROVIDER.

The calls do what ``cratis transform`` turns them into (plugins/storage/transformations/
rules.yaml), so code behaves the same before and after it is transformed. Clients are created
on first use and kept per provider. Endpoints come from the environment as in the transformed
code: AWS_ENDPOINT_URL (an S3-compatible server; unset: AWS), AZURE_STORAGE_CONNECTION_STRING,
and the Google client's default credentials.
"""
import os

from infrar import _provider

__all__ = ["upload", "download", "list_objects", "delete", "StorageError"]

_clients = {}


class StorageError(RuntimeError):
    """A storage call failed; the provider's exception is the __cause__."""


def _client(provider):
    if provider not in _clients:
        if provider == "aws":
            import boto3
            _clients[provider] = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
        elif provider == "gcp":
            from google.cloud import storage as gcs_storage
            _clients[provider] = gcs_storage.Client()
        else:
            from azure.storage.blob import BlobServiceClient
            _clients[provider] = BlobServiceClient.from_connection_string(
                os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    return _clients[provider]


def _call(fn):
    provider = _provider.current()
    try:
        return fn(provider, _client(provider))
    except _provider.ProviderError:
        raise
    except Exception as e:  # the provider libraries raise their own types
        raise StorageError("%s: %s" % (provider, e)) from e


def upload(bucket, source, destination):
    """Upload the local file ``source`` as object ``destination`` of ``bucket``."""
    def run(provider, c):
        if provider == "aws":
            c.upload_file(source, bucket, destination)
        elif provider == "gcp":
            c.bucket(bucket).blob(destination).upload_from_filename(source)
        else:
            with open(source, "rb") as data:
                c.get_blob_client(bucket, destination).upload_blob(data, overwrite=True)
    _call(run)


def download(bucket, source, destination):
    """Download object ``source`` of ``bucket`` into the local file ``destination``."""
    def run(provider, c):
        if provider == "aws":
            c.download_file(bucket, source, destination)
        elif provider == "gcp":
            c.bucket(bucket).blob(source).download_to_filename(destination)
        else:
            with open(destination, "wb") as data:
                c.get_blob_client(bucket, source).download_blob().readinto(data)
    _call(run)


def list_objects(bucket, prefix=""):
    """The names of the objects of ``bucket`` that start with ``prefix``, as a list."""
    def run(provider, c):
        if provider == "aws":
            pages = c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [o["Key"] for p in pages for o in p.get("Contents", [])]
        if provider == "gcp":
            return [b.name for b in c.list_blobs(bucket, prefix=prefix)]
        return [b.name for b in c.get_container_client(bucket).list_blobs(name_starts_with=prefix)]
    return _call(run)


def delete(bucket, path):
    """Delete object ``path`` of ``bucket``."""
    def run(provider, c):
        if provider == "aws":
            c.delete_object(Bucket=bucket, Key=path)
        elif provider == "gcp":
            c.bucket(bucket).blob(path).delete()
        else:
            c.get_blob_client(bucket, path).delete_blob()
    _call(run)
