pass; x = 1
from google.cloud import storage as gcs_storage

_gcs_client = gcs_storage.Client()

if x: pass
_gcs_client.bucket("b").blob("p").delete(); _gcs_client.bucket("b").blob("q").delete()
