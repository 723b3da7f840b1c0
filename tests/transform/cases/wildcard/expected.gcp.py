from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob('c').upload_from_filename('a')
print([_blob.name for _blob in _gcs_client.list_blobs('b', prefix='')])
