from infrar.aws.s3 import enable_versioning
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('data').blob('file.txt').upload_from_filename('file.txt')
enable_versioning(bucket='data')
