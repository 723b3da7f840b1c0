import os, sys
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

_gcs_client.bucket('b').blob(os.path.join(sys.prefix, 'x')).delete()
