import sys
import os
from azure.storage.blob import BlobServiceClient

_blob_service = BlobServiceClient.from_connection_string(os.environ['AZURE_STORAGE_CONNECTION_STRING'])

def _azure_upload_file(container, path, blob):
    with open(path, 'rb') as data:
        return _blob_service.get_blob_client(container, blob).upload_blob(data, overwrite=True)


class Archiver:
    """Moves files to the archive."""

    def archive(self, path, dry_run=False):
        if dry_run:
            print('would upload', path)
        elif path.endswith('.tmp'):
            _blob_service.get_blob_client('archive', path).delete_blob()
        else:
            _azure_upload_file('archive', path, ('archive/' + path))

    async def purge(self):
        try:
            for key in [_blob.name for _blob in _blob_service.get_container_client('archive').list_blobs(name_starts_with='')]:
                while key:
                    with open('/dev/null') as sink:
                        if key.startswith('old/'):
                            _blob_service.get_blob_client('archive', key).delete_blob()
                    key = None
        except OSError as e:
            print(e, file=sys.stderr)
        finally:
            pass


def run(paths):
    if paths:
        for p in paths:
            Archiver().archive(p)
    else:
        _azure_upload_file('archive', 'empty', 'empty')


lister = lambda: [_blob.name for _blob in _blob_service.get_container_client('archive').list_blobs(name_starts_with='')]
