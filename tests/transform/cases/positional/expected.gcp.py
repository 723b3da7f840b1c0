from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob('remote.txt').upload_from_filename('local.txt')
everything = [_blob.name for _blob in _gcs_client.list_blobs('b', prefix='')]
some = [_blob.name for _blob in _gcs_client.list_blobs('b', prefix='logs/')]
named = [_blob.name for _blob in _gcs_client.list_blobs('b', prefix='logs/')]
_gcs_client.bucket('b').blob('remote.txt').delete()
