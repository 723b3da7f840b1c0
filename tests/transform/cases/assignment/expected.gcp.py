from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

files = [_blob.name for _blob in _gcs_client.list_blobs('my-bucket', prefix='data/')]
count = len([_blob.name for _blob in _gcs_client.list_blobs('my-bucket', prefix='')]) + 1
first, *rest = [_blob.name for _blob in _gcs_client.list_blobs('my-bucket', prefix='')] or ['none']
ok = _gcs_client.bucket('b').blob('k').download_to_filename('p') is None
print(files, count, first, rest, ok)
