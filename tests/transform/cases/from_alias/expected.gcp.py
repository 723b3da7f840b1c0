from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('my-bucket').blob('remote.txt').upload_from_filename('local.txt')
_gcs_client.bucket('my-bucket').blob('remote.txt').download_to_filename('local.txt')
