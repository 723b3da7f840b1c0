from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('my-bucket').blob('remote.txt').upload_from_filename('local.txt')
keys = [_blob.name for _blob in _gcs_client.list_blobs('my-bucket', prefix=('a' +
                           'b'))]
_gcs_client.bucket('b').blob('z').upload_from_filename(('x'
             'y'))
