from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob(str(len([_blob.name for _blob in _gcs_client.list_blobs('b', prefix='')]))).upload_from_filename('count.txt')
print([k.upper() for k in [_blob.name for _blob in _gcs_client.list_blobs([_blob.name for _blob in _gcs_client.list_blobs('index', prefix='')][0], prefix='')]])
