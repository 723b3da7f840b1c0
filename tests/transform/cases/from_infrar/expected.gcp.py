from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()


def sync(bucket):
    for key in [_blob.name for _blob in _gcs_client.list_blobs(bucket, prefix='in/')]:
        _gcs_client.bucket(bucket).blob(key).download_to_filename(('/tmp/' + key.replace('/', '_')))
