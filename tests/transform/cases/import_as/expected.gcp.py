from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob('remote.txt').upload_from_filename('local.txt')
_gcs_client.bucket('b').blob('remote.txt').download_to_filename('copy.txt')
for name in [_blob.name for _blob in _gcs_client.list_blobs('b', prefix='')]:
    _gcs_client.bucket('b').blob(name).delete()
